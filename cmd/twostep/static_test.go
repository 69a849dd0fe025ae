package main

import (
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaticBuildServes builds twostep the way deploy/Dockerfile does
// (CGO_ENABLED=0, -trimpath, stripped), checks the binary is static — no
// program interpreter, no shared libraries, so it runs on distroless or
// scratch — and runs `serve` from it with nothing but its settings in the
// environment, as the container's non-root user when the tests run as
// root, until /healthz and /readyz (a database write) answer 200.
func TestStaticBuildServes(t *testing.T) {
	dockerfile, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w`, `ENTRYPOINT ["/twostep", "serve"]`} {
		if !strings.Contains(string(dockerfile), want) {
			t.Fatalf("deploy/Dockerfile no longer has %s: update this test to build the same way", want)
		}
	}

	// A directory others may enter, so the binary runs as another user.
	dir, err := os.MkdirTemp("", "twostep-static-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "twostep")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the static binary: %v", err)
	}
	build := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w -X main.version=static-test", "-o", bin, ".")
	for _, kv := range os.Environ() {
		// The race detector, if asked for through GOFLAGS, needs cgo.
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
			build.Env = append(build.Env, kv)
		}
	}
	build.Env = append(build.Env, "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter (PT_INTERP): it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v: want none", libs)
	}
	f.Close()

	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	// Only what the image sets: no TWOSTEP_TEST_RUN_MAIN, no HOME.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TWOSTEP_SERVER_DATA_DIR=" + data, "TWOSTEP_SERVER_ADDR=" + addr}
	if os.Geteuid() == 0 {
		const nonroot = 65532 // the distroless image's user
		if err := os.Chown(data, nonroot, nonroot); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonroot, Gid: nonroot}}
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for _, path := range []string{"/healthz", "/readyz"} {
		waitFor(t, path+" to answer 200", 30*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	if !strings.Contains(out.String(), "twostep static-test is running") {
		t.Errorf("the static binary said %q, want its version and that it is running", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "twostep.db")); err != nil {
		t.Errorf("no database in the data directory: %v", err)
	}
}
