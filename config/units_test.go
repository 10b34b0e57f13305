package config

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1000000": 1000000, "0": 0, "1B": 1, "1KB": 1000, "1MB": 1e6, "2GB": 2e9,
		"512KiB": 512 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30, "64 MiB": 64 << 20, "16mib": 16 << 20, "-1MiB": -1 << 20,
	} {
		if got, ok := parseSize(in); !ok || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "lots", "MiB", "1.5MiB", "1TiB", "1 M", "99999999999GiB", "1e6"} {
		if got, ok := parseSize(in); ok {
			t.Errorf("parseSize(%q) = %d; want failure", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 100: "100B", 1024: "1KiB", 32 << 20: "32MiB", 1 << 30: "1GiB", 1e6: "1MB", 1500: "1500B", 3 << 9: "1536B",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q; want %q", n, got, want)
		}
	}
}
