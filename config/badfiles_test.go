package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badDir holds whole bad pipeline files, each next to a .want file with
// the exact text a user sees for it ("{f}" stands for the file's path,
// "{d}" for its directory: paths in a file are relative to it).
// cmd/sluice checks that `sluice validate` prints the same.
var badDir = filepath.Join("..", "testdata", "config", "bad")

var updateWant = flag.Bool("update-want", false, "rewrite testdata/config/bad/*.want from what Load returns (review the diff!)")

// unsetInBadFiles are the environment variables the bad files use
// unset.
var unsetInBadFiles = []string{"SLUICE_BADFILE_UNSET_BROKERS", "SLUICE_BADFILE_UNSET_BIN"}

// TestBadFiles loads every bad file and compares the whole error text.
func TestBadFiles(t *testing.T) {
	for _, v := range unsetInBadFiles {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	files, err := filepath.Glob(filepath.Join(badDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d bad files in %s, want at least 20", len(files), badDir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			_, err := Load(file)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if *updateWant {
				text := strings.ReplaceAll(strings.ReplaceAll(err.Error(), file, "{f}"), filepath.Dir(file)+"/", "{d}/") + "\n"
				if err := os.WriteFile(wantFile, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(wantFile)
			if rerr != nil {
				t.Fatalf("%v (run go test ./config -run TestBadFiles -update-want to write it)", rerr)
			}
			assertErr(t, err, wantText(string(want), file))
		})
	}
}

// wantText renders a .want file for the bad file at path.
func wantText(want, path string) string {
	want = strings.ReplaceAll(strings.TrimSuffix(want, "\n"), "{f}", path)
	return strings.ReplaceAll(want, "{d}", filepath.Dir(path))
}

// TestOversizedFiles: a file over the cap is refused with its size, read
// no further than the cap, whether a regular file or an endless device.
func TestOversizedFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	big := strings.Repeat("# padding\n", 12*mib/10+1)
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	assertErr(t, err, path+": the file is 12MiB; a pipeline file may be at most 1MiB")
	if _, ok := err.(Problems); !ok {
		t.Errorf("error is %T, want Problems (so the CLI exits 2)", err)
	}

	_, err = Parse("p.yaml", []byte(big[:maxFileSize+512*kib]))
	assertErr(t, err, "p.yaml: the file is 1.5MiB; a pipeline file may be at most 1MiB")

	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err = Load("/dev/zero")
		assertErr(t, err, "/dev/zero: the file is larger than 1MiB; a pipeline file may be at most 1MiB")
	}

	// At the cap exactly, the file is parsed (here: all comments).
	_, err = Parse("p.yaml", []byte(big[:maxFileSize-1]+"\n"))
	assertErr(t, err, `p.yaml: the file is empty; a pipeline needs "pipeline:" and "stages:"`)
}

// TestValueHints pins the suggestions added to size and duration
// messages, and that nothing is suggested when nothing obvious fits.
func TestValueHints(t *testing.T) {
	for _, tc := range []struct{ in, size, duration string }{
		{"64MB/s", "a size, not a rate: write 64MB", ""},
		{"1 KiB/sec", "a size, not a rate: write 1 KiB", ""},
		{"64M", "write 64MiB, or 64MB for powers of 1000", "write 64m"},
		{"1.5GiB", "sizes are whole numbers: write 1536MiB", ""},
		{"0.3KiB", "", ""},
		{"5 minutes", "", "write 5m"},
		{"2 days", "", "write 48h"},
		{"1.5 hours", "", "write 1.5h"},
		{"30", "", "add a unit: 30s or 30ms"},
		{"250 msec", "", "write 250ms"},
		{"lots", "", ""},
		{"5 fortnights", "", ""},
		{"", "", ""},
	} {
		if got := sizeHint(tc.in); got != tc.size {
			t.Errorf("sizeHint(%q) = %q, want %q", tc.in, got, tc.size)
		}
		if got := durationHint(tc.in); got != tc.duration {
			t.Errorf("durationHint(%q) = %q, want %q", tc.in, got, tc.duration)
		}
	}
}
