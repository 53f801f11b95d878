package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target is the server an ingest benchmark posts to.
type Target struct {
	URL       string // base URL, e.g. http://127.0.0.1:8080
	AppSecret string // the server's COEX_APP_SECRET, to sign the webhooks
	Workers   int    // the server's COEX_WORKERS, for the report; 0 when unknown
	// PeakRSS returns the server's peak resident memory in bytes (VmHWM); nil when it
	// cannot be measured (a server in another process tree or on another machine).
	PeakRSS func() (int64, error)
	// CPUTime returns the server's CPU time so far (user + system); nil when it cannot be
	// measured.
	CPUTime func() (time.Duration, error)
	// Stop stops the server once the ingest figures are taken, so that the database
	// ceiling is measured on an idle machine; nil leaves it running.
	Stop func() error
}

// ServerProcess is `coexhistory serve` run as a child process by a benchmark.
type ServerProcess struct {
	URL       string
	AppSecret string
	LogPath   string // the child's stdout and stderr

	cmd      *exec.Cmd
	log      *os.File
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// StartServer runs `exe serve` with env (KEY=value pairs; COEX_DATABASE_URL must be among
// them or in the process environment) plus a free loopback address and fresh random
// secrets, and returns once it answers /healthz. Its output goes to a temporary log file.
func StartServer(ctx context.Context, exe string, env []string) (*ServerProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	secret, verify, key := randomHex(24), randomHex(24), randomHex(32)
	logFile, err := os.CreateTemp("", "coexhistory-bench-server-*.log")
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(exe, "serve")
	cmd.Env = append(withoutKeys(env, "COEX_ADDR", "COEX_APP_SECRET", "COEX_VERIFY_TOKEN", "COEX_SECRET_KEY"),
		"COEX_ADDR="+addr, "COEX_APP_SECRET="+secret, "COEX_VERIFY_TOKEN="+verify, "COEX_SECRET_KEY="+key)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	p := &ServerProcess{URL: "http://" + addr, AppSecret: secret, LogPath: logFile.Name(), cmd: cmd, log: logFile, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitHealthy(ctx, 60*time.Second); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w\nserver log (%s):\n%s", err, p.LogPath, p.LogTail(20))
	}
	return p, nil
}

func (p *ServerProcess) waitHealthy(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("server exited before answering: %v", p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := client.Get(p.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server did not answer /healthz within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID is the child's process id.
func (p *ServerProcess) PID() int { return p.cmd.Process.Pid }

// PeakRSS returns the child's peak resident memory (VmHWM) in bytes; it works until Stop.
func (p *ServerProcess) PeakRSS() (int64, error) { return peakRSS(p.PID()) }

// Stop asks the server to shut down (SIGTERM), kills it after 20 s, and removes its log
// unless it failed. It is safe to call more than once.
func (p *ServerProcess) Stop() error {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
				p.stopErr = errors.New("server did not stop within 20 s; killed")
			}
		}
		_ = p.log.Close()
		if p.stopErr == nil && p.waitErr == nil {
			_ = os.Remove(p.LogPath)
		}
	})
	return p.stopErr
}

// LogTail returns the last n lines of the server's log.
func (p *ServerProcess) LogTail(n int) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// Target describes the child for Ingest.
func (p *ServerProcess) Target(workers int) Target {
	return Target{URL: p.URL, AppSecret: p.AppSecret, Workers: workers, PeakRSS: p.PeakRSS, CPUTime: p.CPUTime, Stop: p.Stop}
}

// CPUTime returns the child's CPU time so far; it works until Stop.
func (p *ServerProcess) CPUTime() (time.Duration, error) { return cpuTime(p.PID()) }

// cpuTime reads the user and system time of a process from /proc/<pid>/stat, in clock ticks
// of 1/100 s (USER_HZ on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	fields := strings.Fields(string(b[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, errors.New("cpu time: unexpected /proc/<pid>/stat")
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// peakRSS reads VmHWM (peak resident set size) of a process from /proc.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "VmHWM:"))
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("peak RSS: unexpected %q", line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak RSS: %w", err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/<pid>/status")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withoutKeys drops the KEY=value pairs of env whose key is one of keys.
func withoutKeys(env []string, keys ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			if k == key {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
