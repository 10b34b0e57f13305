package config

// This file decodes and checks schema_registry: the Confluent-compatible
// Schema Registry that topics with "wire: confluent" use. Its password is
// a Secret, read like kafka.sasl's: ${VAR} or password_file.

import (
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// schemaRegistry decodes schema_registry and returns the names of the
// environment variables its password came from (sorted, no duplicates),
// which nodes must not inherit.
func (d *decoder) schemaRegistry(f field) (*SchemaRegistry, []string) {
	if f.val.Kind != yaml.MappingNode {
		d.problem(f.val.Line, f.path, "expected a mapping with url (and username, password when the registry asks), got %s", describe(f.val))
		d.undecodable(f.path)
		return nil, nil
	}
	r := &SchemaRegistry{Line: f.line}
	var env []string
	var hasPassword, pwBad bool
	passwordRaw := ""
	d.fields(f.val, f.path, map[string]func(field){
		"url":      func(f field) { r.URLs = d.registryURLs(f) },
		"username": func(f field) { d.str(f, &r.Username) },
		"password": func(f field) {
			hasPassword = true
			env = envRefs(f.val.Value)
			passwordRaw = f.val.Value
			v, ok := d.scalar(f, "a string")
			pwBad = !ok // already reported
			r.Password = NewSecret(v)
		},
		"password_file": func(f field) { d.filePath(f, &r.PasswordFile) },
	})
	line := func(key string) (int, string) {
		p := fieldPath(f.path, key)
		if l, ok := d.lines[p]; ok {
			return l, p
		}
		return f.line, p
	}
	if l, p := line("url"); len(r.URLs) == 0 && !d.reported(p) {
		if d.given[p] {
			d.problem(l, p, "is empty: name the registry, e.g. http://127.0.0.1:8081")
		} else {
			d.problem(l, p, "is required: the registry's base URL, e.g. http://127.0.0.1:8081")
		}
	}
	hasFile := r.PasswordFile != ""
	switch {
	case hasPassword && hasFile:
		l, p := line("password_file")
		d.problem(l, p, "set either password or password_file, not both")
	case hasFile:
		pw, err := readPasswordFile(r.PasswordFile)
		if err != nil {
			l, p := line("password_file")
			d.problem(l, p, "%v", err)
		}
		r.Password = NewSecret(pw)
	case hasPassword && r.Password.Reveal() == "" && !pwBad:
		l, p := line("password")
		if strings.Contains(passwordRaw, "${") {
			d.problem(l, p, "is empty (from %q): set the variable, or use password_file", passwordRaw)
		} else {
			d.problem(l, p, "is empty: write the password, ${VAR}, or use password_file")
		}
	}
	// Basic auth needs both halves; one alone is a half-done edit.
	userGiven := d.given[fieldPath(f.path, "username")]
	pwGiven := hasPassword || hasFile || d.reported(fieldPath(f.path, "password")) || d.reported(fieldPath(f.path, "password_file"))
	switch {
	case userGiven && r.Username == "" && !d.reported(fieldPath(f.path, "username")):
		l, p := line("username")
		d.problem(l, p, "is empty: write the registry user, or remove username, password and password_file for a registry without authentication")
	case r.Username != "" && !pwGiven:
		l, _ := line("username") // the line that asks for a password
		p := fieldPath(f.path, "password")
		d.problem(l, p, "is required with username: set password (e.g. ${SCHEMA_REGISTRY_PASSWORD}) or password_file")
	case !userGiven && pwGiven && !d.reported(fieldPath(f.path, "username")):
		l, p := line("username")
		d.problem(l, p, "is required with a password: the registry user (HTTP basic authentication)")
	}
	return r, env
}

// registryURLs takes one URL, a list, or a comma-separated string (so that
// "url: ${SCHEMA_REGISTRY_URL}" can carry several).
func (d *decoder) registryURLs(f field) []string {
	var list []string
	if f.val.Kind == yaml.ScalarNode {
		v, ok := d.scalar(f, "a URL or a list of URLs")
		items := splitList(v)
		for i, u := range items {
			path := f.path
			if len(items) > 1 {
				path = indexPath(f.path, i)
			}
			if ok && d.checkRegistryURL(f.val.Line, path, u) {
				list = append(list, strings.TrimSuffix(u, "/"))
			}
		}
		return list
	}
	for _, e := range d.items(f) {
		if u, ok := d.scalar(e, "a URL"); ok && d.checkRegistryURL(e.line, e.path, u) {
			list = append(list, strings.TrimSuffix(u, "/"))
		}
	}
	return list
}

// checkRegistryURL accepts http(s)://host[:port][/path], the path for
// registries served under a prefix (Apicurio's /apis/ccompat/v7).
func (d *decoder) checkRegistryURL(line int, path, raw string) bool {
	const want = "an http:// or https:// URL such as http://127.0.0.1:8081"
	bad := func(hint string) bool {
		msg := "expected " + want + ", got " + strconv.Quote(raw)
		if hint != "" {
			msg += " (" + hint + ")"
		}
		d.problem(line, path, "%s", msg)
		d.undecodable(path)
		return false
	}
	if !strings.Contains(raw, "://") {
		return bad("write http://" + raw)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("the registry speaks HTTP")
	case u.User != nil:
		d.problem(line, path, "holds credentials: move them to schema_registry.username and password (a URL ends up in logs)")
		d.undecodable(path)
		return false
	case u.Hostname() == "":
		return bad("")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return bad("a base URL takes no ?query or #fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad("the port must be 1 to 65535")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return bad("")
	}
	return true
}
