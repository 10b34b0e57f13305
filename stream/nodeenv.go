package stream

import (
	"slices"
	"sort"
	"strings"
)

// nodeEnv is a node's environment: Sluice's own (environ) without the
// variables named in hide, which hold the runtime's Kafka credentials, then
// the stage's node.env. node.env wins, so a stage that needs one of the
// hidden variables asks for it by name (KAFKA_PASSWORD: ${KAFKA_PASSWORD}).
func nodeEnv(environ, hide []string, env map[string]string) []string {
	out := make([]string, 0, len(environ)+len(env))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(hide, name) {
			continue
		}
		out = append(out, kv)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names) // a stable order: reproducible node starts
	for _, k := range names {
		out = append(out, k+"="+env[k])
	}
	return out
}
