package loadtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL, to create and drop the bench schema
)

// server is the twostep under test, a child process.
type server struct {
	cmd     *exec.Cmd
	pid     int
	base    string
	logPath string
	logFile *os.File
	readyIn time.Duration
	done    chan struct{} // closed when the child has exited
	waitErr error
}

// startServer runs exe's `serve` (this binary's if exe is "") on a free
// loopback port with its data in dir/data and its output in
// dir/server.log, reading the config file cfgPath if it is not "", and
// waits until /readyz answers 200.
func startServer(ctx context.Context, now func() time.Time, exe, dir, dbURL, cfgPath string) (*server, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bench: find own binary: %w", err)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, serverArgs(addr, dir, cfgPath)...)
	cmd.Env = serverEnv(os.Environ(), dbURL)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("bench: start server: %w", err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, base: "http://" + addr, logPath: logPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	start := now()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		resp, err := c.Get(s.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.readyIn = now().Sub(start)
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("bench: server exited before it was ready (%v); its log:\n%s", s.waitErr, tailFile(logPath, 4096))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if now().Sub(start) > time.Minute {
			s.stop()
			return nil, fmt.Errorf("bench: server not ready after a minute; its log:\n%s", tailFile(logPath, 4096))
		}
	}
}

// serverArgs are the child's arguments: serve on addr with its data in
// dir/data, and the config file cfgPath if it is not "".
func serverArgs(addr, dir, cfgPath string) []string {
	args := []string{"serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data")}
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	return args
}

// unthrottled is a guessing budget no bench run reaches.
const unthrottled = 1 << 30

// serverEnv is the child's environment: the caller's without its TWOSTEP_*
// settings, so the server runs at the defaults, but for the sign-up budget
// (all sign-ups come from one address) and the database.
func serverEnv(environ []string, dbURL string) []string {
	var env []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "TWOSTEP_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TWOSTEP_LIMITS_SIGNUP_PER_ADDRESS_LIMIT="+strconv.Itoa(MaxUsers))
	// Every bench client signs in from one address to a few accounts, many
	// at once: the guessing throttles (reserved before hashing) would
	// answer most of a burst 429 and the bench would measure them, not the
	// server. It measures hashing capacity, so they are lifted.
	for _, k := range []string{"ADDRESS", "ACCOUNT", "BROWSER"} {
		env = append(env, "TWOSTEP_LIMITS_PASSWORD_PER_"+k+"_FREE="+strconv.Itoa(unthrottled))
	}
	if dbURL != "" {
		env = append(env, "TWOSTEP_DATABASE_URL="+dbURL)
	}
	return env
}

// stop sends SIGTERM and waits for the child to exit (killing it if it has
// not after 30 s). It returns the child's exit error, if any.
func (s *server) stop() error {
	defer s.logFile.Close()
	select {
	case <-s.done:
		return fmt.Errorf("server had exited already: %v", s.waitErr)
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("server did not exit within 30s of SIGTERM; killed")
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailFile returns the last n bytes of the file at path, or why not.
func tailFile(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

// createSchema creates schema bench_<random> in the database at base and
// returns a URL whose search_path is that schema, and a func dropping it.
func createSchema(ctx context.Context, base string) (dbURL, schema string, drop func() error, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: --database-url: %w", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema = "bench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: postgres: %w", err)
	}
	defer admin.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE SCHEMA "+schema); err != nil {
		return "", "", nil, fmt.Errorf("bench: postgres: create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop = func() error {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	return u.String(), schema, drop, nil
}
