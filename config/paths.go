package config

import "strconv"

// fieldPath appends key to the dotted path parent. Keys that would be
// ambiguous in a dotted path (topic names such as "events.parsed") are
// written as parent["events.parsed"] instead.
func fieldPath(parent, key string) string {
	if !plainKey(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexPath addresses a list item: kafka.brokers[1].
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Paths of the fields validation talks about, built in one place so the
// decoder (which records their lines) and the validator agree.
func stagePath(name string) string { return fieldPath("stages", name) }

func topicPath(name string) string { return fieldPath("topics", name) }
