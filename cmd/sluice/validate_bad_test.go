package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

// badFilesDir holds whole bad pipeline files, each with a .want file of
// the exact error text ("{f}" for the file's path, "{d}" for its
// directory); config's TestBadFiles
// checks the same files against config.Load.
var badFilesDir = filepath.Join("..", "..", "testdata", "config", "bad")

// mainEnv, when set, makes the test binary run main with the arguments it
// holds (separated by \x1f) instead of tests: a real process, so that its
// exit status and everything it prints can be checked.
const mainEnv = "SLUICE_TEST_RUN_MAIN"

// TestValidateBadFiles runs `sluice validate` on every bad file, as a
// process: it must print exactly the config error (one line per problem,
// after "sluice: "), nothing on stdout, no stack trace, and exit 2.
func TestValidateBadFiles(t *testing.T) {
	if args, ok := os.LookupEnv(mainEnv); ok {
		os.Args = append([]string{"sluice"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	for _, v := range []string{"SLUICE_BADFILE_UNSET_BROKERS", "SLUICE_BADFILE_UNSET_BIN"} {
		t.Setenv(v, "")
		os.Unsetenv(v) // the files use them unset
	}
	files, err := filepath.Glob(filepath.Join(badFilesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no bad files in %s", badFilesDir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(strings.TrimSuffix(string(data), "\n"), "{f}", file)
			want = strings.ReplaceAll(want, "{d}", filepath.Dir(file)) // paths in the file are relative to it

			// In process: the error is the config package's, as is.
			_, _, err = sluice(t, "", "validate", "--config", file, "--offline")
			var probs config.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("err = %v (%T), want config.Problems", err, err)
			}
			if err.Error() != want {
				t.Errorf("error text differs\n got:\n%s\nwant:\n%s", err, want)
			}

			// As a process.
			stdout, stderr, code := runMain(t, "validate", "--config", file, "--offline")
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if stderr != "sluice: "+want+"\n" {
				t.Errorf("stderr differs\n got:\n%s\nwant:\nsluice: %s", stderr, want)
			}
		})
	}
}

// runMain runs this test binary as the sluice command with args.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^TestValidateBadFiles$")
	cmd.Env = append(os.Environ(), mainEnv+"="+strings.Join(args, "\x1f"))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}
