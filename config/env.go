package config

import (
	"fmt"
	"os"
	"strings"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in one scalar value; $$ is a
// literal $ and any other $ is left alone (regexes in node args are common).
// It runs on decoded scalars rather than on the raw file so that a variable's
// value can never change the YAML structure. All failures in s are returned.
func expandEnv(s string) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var errs []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, `unterminated "${": close it with "}" (write $$ for a literal $)`)
				b.WriteString(s[i:])
				i = len(s)
				continue
			}
			v, err := lookupVar(s[i+2 : i+2+end])
			if err != "" {
				errs = append(errs, err)
			}
			b.WriteString(v)
			i += end + 3
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), errs
}

// lookupVar resolves the inside of ${...}. Like the shell, ":-" falls back
// when the variable is unset or empty.
func lookupVar(expr string) (string, string) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", fmt.Sprintf("invalid environment variable name %q in ${%s}: use letters, digits and _ (write $$ for a literal $)", name, expr)
	}
	v, ok := os.LookupEnv(name)
	switch {
	case hasDef && v == "":
		return def, ""
	case !ok:
		return "", fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a fallback)", name, name)
	}
	return v, ""
}

func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
