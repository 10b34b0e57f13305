package config

import (
	"iter"
	"sort"
	"strings"
	"unicode/utf8"
)

// Bounds of the suggestion search, so that it stays cheap whatever the
// file holds: words longer than any name Kafka or the file format allows
// get no suggestion (the edit distance is quadratic in the length), nor do
// words among more candidates than any real file declares (the search
// runs once per problem).
const (
	maxSuggestLen        = 256
	maxSuggestCandidates = 10000
)

// closest returns the candidate nearest to word, if it is within two edits:
// close enough to be a typo, far enough not to suggest nonsense. Ties go to
// the alphabetically first candidate, so the answer does not depend on the
// order of candidates (a map's keys will do).
func closest(word string, candidates iter.Seq[string]) (string, bool) {
	n := utf8.RuneCountInString(word)
	if n > maxSuggestLen {
		return "", false
	}
	best, bestDist, seen := "", 3, 0
	for c := range candidates {
		if seen++; seen > maxSuggestCandidates {
			return "", false
		}
		// Lengths more than two apart are more than two edits apart; the
		// margin is wider because lower-casing can change a length.
		if m := utf8.RuneCountInString(c); m > n+4 || m < n-4 {
			continue
		}
		if d := editDistance(word, c); d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance: Levenshtein plus
// transposition of neighbours, the most common typo ("comamnd").
func editDistance(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// sortedList joins names alphabetically for "(known fields: a, b)" hints.
func sortedList(names []string) string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}
