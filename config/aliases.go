package config

import "gopkg.in/yaml.v3"

// maxAliasExpansion bounds how many values aliases may add to a pipeline
// file's YAML tree, beyond the values written in it. yaml.v3 limits alias
// expansion only when it decodes into Go values; the decoder here walks
// yaml.Nodes and follows aliases and merge keys itself, so a few lines of
// nested anchors (a "billion laughs") would otherwise cost it exponential
// time and memory. Shared settings merged into every stage of a large
// file add a few thousand.
const maxAliasExpansion = 100_000

// checkAliases reports an alias used inside its own anchor (the decoder
// would follow it forever) and aliases that expand the tree by more than
// maxAliasExpansion values. It returns false when either was found: such a
// file is not decoded at all.
func (d *decoder) checkAliases(root *yaml.Node) bool {
	a := aliasWalk{d: d, size: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	expanded := a.walk(root)
	switch {
	case a.cycle:
		return false
	case expanded-len(a.size) > maxAliasExpansion:
		d.problem(0, "", "aliases expand the file by more than %d values; a pipeline file needs far fewer (nested anchors such as a \"billion laughs\" are refused)", maxAliasExpansion)
		return false
	}
	return true
}

// aliasWalk computes expanded sizes depth first, memoised per node so that
// the walk itself stays linear in the file.
type aliasWalk struct {
	d     *decoder
	size  map[*yaml.Node]int // expanded size of each node walked
	open  map[*yaml.Node]bool
	cycle bool
}

// saturated caps the sizes, far above any limit, so that the exponential
// sizes of an alias bomb cannot overflow.
const saturated = 1 << 40

func (a *aliasWalk) walk(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if s, ok := a.size[n]; ok {
		return s
	}
	if a.open[n] {
		return 0 // reported by the alias that led back here
	}
	a.open[n] = true
	total := 1
	if n.Kind == yaml.AliasNode {
		if a.open[n.Alias] {
			a.cycle = true
			a.d.problem(n.Line, "", "alias *%s is used inside its own anchor &%s: its value would contain itself", n.Value, n.Value)
		} else {
			total = a.walk(n.Alias)
		}
	}
	for _, c := range n.Content {
		total = min(total+a.walk(c), saturated)
	}
	delete(a.open, n)
	a.size[n] = total
	return total
}
