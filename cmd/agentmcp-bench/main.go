// Command agentmcp-bench measures a real `agentmcp serve` against a bare echo baseline on
// the same machine, with wrk driving load over loopback, and prints the ratios.
//
//	agentmcp-bench [--servers 10000] [--duration 10s] [--concurrency 32] [--db postgres|postgres://…] [--out bench.json] [--pprof DIR [--pprof-scenario get]]
//
// With --db postgres it starts a throwaway local PostgreSQL cluster (default durability) and
// removes it on exit; on PostgreSQL every scenario but the baseline's runs against two
// replicas on the same database, the load split between them.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/agentmcp/agentmcp/client"
	"github.com/agentmcp/agentmcp/internal/pgtest/pgcluster"
)

type config struct {
	servers     int
	duration    time.Duration
	concurrency int
	threads     int
	db          string
	replicas    int
	out         string
	pprofDir    string
	pprofOf     string
	bin         string
	scenarios   string
	keep        bool
	serveArgs   string
	onCluster   func(*pgcluster.Cluster) // tests: sees the cluster --db postgres started
	gwRounds    int
	gwRound     time.Duration
	gwSessions  int
}

func main() {
	if sub := subcommand(os.Args[1:]); sub != nil {
		if err := sub(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.IntVar(&c.servers, "servers", 10000, "MCP servers to seed")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "load per scenario")
	flag.IntVar(&c.concurrency, "concurrency", 32, "open connections")
	flag.IntVar(&c.threads, "threads", 2, "wrk threads")
	flag.StringVar(&c.db, "db", "", "database for the server: empty = a temporary SQLite file; postgres = a throwaway local PostgreSQL cluster; or a postgres:// URL (of an empty database)")
	flag.IntVar(&c.replicas, "replicas", 0, "agentmcp serve processes on the database, the load split between them (default: 2 on PostgreSQL, 1 on SQLite, which allows only 1)")
	flag.StringVar(&c.out, "out", "", "also write the results as JSON to this file")
	flag.StringVar(&c.pprofDir, "pprof", "", "capture CPU and heap profiles of the server during one scenario (--pprof-scenario) into this directory")
	flag.StringVar(&c.pprofOf, "pprof-scenario", "get", "the scenario --pprof profiles")
	flag.StringVar(&c.bin, "bin", "", "agentmcp binary to run (default: go build ./cmd/agentmcp)")
	flag.StringVar(&c.scenarios, "scenarios", "", "comma-separated subset of scenarios to run (default all)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&c.serveArgs, "serve-args", "", "extra flags for agentmcp serve, space-separated (for experiments)")
	flag.IntVar(&c.gwRounds, "gateway-rounds", 5, "interleaved rounds (direct, gateway) of each gateway scenario")
	flag.DurationVar(&c.gwRound, "gateway-round", 2*time.Second, "calls per side per round of a gateway scenario")
	flag.IntVar(&c.gwSessions, "gateway-sessions", 10000, "idle sessions gateway-sessions opens")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "agentmcp-bench:", err)
		os.Exit(1)
	}
}

// subcommand is the process the benchmark starts of itself: the baseline, an upstream MCP
// server, or the MCP client of the gateway scenarios; nil for the benchmark itself.
func subcommand(args []string) func([]string) error {
	if len(args) == 0 {
		return nil
	}
	return map[string]func([]string) error{"baseline": runBaseline, "upstream": runUpstream, "mcpload": runMCPLoad}[args[0]]
}

// procs are the child processes; all are killed on the way out, whatever happens.
type procs struct {
	mu   sync.Mutex
	list []*exec.Cmd
}

func (p *procs) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.list = append(p.list, cmd)
	p.mu.Unlock()
	return nil
}

func (p *procs) killAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.list {
		if c.Process != nil && c.ProcessState == nil {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready", url)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
}

func run(ctx context.Context, c config) error {
	want := func(string) bool { return true }
	if c.scenarios != "" {
		set := map[string]bool{}
		for _, s := range strings.Split(c.scenarios, ",") {
			set[strings.TrimSpace(s)] = true
		}
		want = func(s string) bool { return set[s] }
	}
	rest := false
	for _, s := range scenarios(nil, "") {
		rest = rest || s.Name != "baseline-get" && want(s.Name)
	}
	if rest {
		if _, err := exec.LookPath("wrk"); err != nil {
			return errors.New("wrk is not installed (Debian: apt-get install wrk; `make bench` does it)")
		}
	}
	tmp, err := os.MkdirTemp("", "agentmcp-bench")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(tmp)
	}
	var ps procs
	defer ps.killAll()

	bin := c.bin
	if bin == "" {
		progress("building agentmcp")
		bin = filepath.Join(tmp, "agentmcp")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/agentmcp").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	var rep benchReport
	if rest {
		if rep, err = runREST(ctx, c, &ps, bin, tmp, want); err != nil {
			return err
		}
	} else {
		rep = report(c, "sqlite", 1, 0, nil, 0)
	}
	if slices.ContainsFunc(gatewayScenarios, want) {
		if rep.Gateway, err = runGateway(ctx, c, &ps, bin, tmp, want); err != nil {
			return err
		}
	}
	if rest {
		fmt.Print(rep.markdown())
	}
	fmt.Print(gatewayMarkdown(rep.Gateway, gwConfig{rounds: c.gwRounds, round: c.gwRound}))
	if c.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(c.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runREST runs the REST scenarios (wrk against agentmcp and the baseline).
func runREST(ctx context.Context, c config, ps *procs, bin, tmp string, want func(string) bool) (benchReport, error) {
	defer ps.killAll() // the gateway scenarios run on a quiet machine
	db, backend := c.db, "sqlite"
	switch {
	case db == "":
		db = filepath.Join(tmp, "bench.db")
	case db == "postgres":
		progress("starting a PostgreSQL cluster")
		cl, err := startPostgres(ctx)
		if err != nil {
			return benchReport{}, err
		}
		defer func() { ps.killAll(); cl.Remove() }() // the replicas go first, not left without their database
		if c.onCluster != nil {
			c.onCluster(cl)
		}
		if db, err = pgcluster.CreateDatabase(ctx, cl.URL, "bench", ""); err != nil {
			return benchReport{}, err
		}
		backend = "postgres"
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		backend = "postgres"
	default:
		return benchReport{}, fmt.Errorf("--db %q: want empty (SQLite), postgres, or a postgres:// URL", db)
	}
	replicas := c.replicas
	if replicas == 0 {
		replicas = map[string]int{"sqlite": 1, "postgres": 2}[backend]
	}
	if replicas < 1 || backend == "sqlite" && replicas > 1 {
		return benchReport{}, fmt.Errorf("--replicas %d: SQLite takes 1, PostgreSQL 1 or more", replicas)
	}
	// Only serve and migrate up create a database; apps create before serve keeps serve from
	// making (and printing) an app of its own.
	if out, err := exec.Command(bin, "migrate", "up", "--db", db).CombinedOutput(); err != nil {
		return benchReport{}, fmt.Errorf("migrate up: %w\n%s", err, out)
	}
	out, err := exec.Command(bin, "apps", "create", "bench", "--db", db).Output()
	if err != nil {
		return benchReport{}, fmt.Errorf("apps create: %w", err)
	}
	key := strings.TrimSpace(string(out))

	// Replica 0 migrates (migrate up did already); the others only check the schema.
	var reps []*replica
	for i := range replicas {
		r, err := startReplica(ctx, ps, c, bin, db, tmp, i)
		if err != nil {
			return benchReport{}, err
		}
		reps = append(reps, r)
	}
	base, pprofAddr := reps[0].base, reps[0].pprofAddr
	var targets []string
	for _, r := range reps {
		targets = append(targets, r.base)
	}

	api, err := client.New(base+"/v3", key)
	if err != nil {
		return benchReport{}, err
	}
	if err := seed(ctx, api, c.servers); err != nil {
		return benchReport{}, err
	}
	fixture := filepath.Join(tmp, "fixture.json")
	oldest, err := writeFixture(ctx, api, c.servers, fixture)
	if err != nil {
		return benchReport{}, err
	}
	// Every replica reads the servers once, as replica one did for the fixture, so that each
	// is measured warm: a long-running replica's cache holds what it serves.
	for _, r := range reps[1:] {
		other, err := client.New(r.base+"/v3", key)
		if err != nil {
			return benchReport{}, err
		}
		for _, err := range other.All(ctx, 100) {
			if err != nil {
				return benchReport{}, err
			}
		}
	}

	baseAddr, err := freePort()
	if err != nil {
		return benchReport{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return benchReport{}, err
	}
	bl := exec.Command(self, "baseline", "--addr", baseAddr, "--fixture", fixture)
	// The baseline runs with the Ps agentmcp gave itself, so the ratios compare code, not
	// runtime settings (serve doubles GOMAXPROCS; a bare echo server does not).
	if n := reps[0].gomaxprocs; n > 0 {
		bl.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(n))
	}
	bl.Stdout, bl.Stderr = os.Stderr, os.Stderr
	if err := ps.start(bl); err != nil {
		return benchReport{}, err
	}
	if err := waitReady(ctx, "http://"+baseAddr+"/healthz"); err != nil {
		return benchReport{}, err
	}

	scen := scenarios(targets, "http://"+baseAddr)
	var keep []scenario
	for _, s := range scen {
		if want(s.Name) || s.Name == "baseline-get" {
			keep = append(keep, s)
		}
	}
	scen = keep
	var results []result
	var peak int64
	for i, s := range scen {
		if ctx.Err() != nil {
			return benchReport{}, ctx.Err()
		}
		progress("[%d/%d] %s: %s at %d connections on %d server(s)", i+1, len(scen), s.Name, c.duration, c.concurrency, len(s.Targets))
		var prof *profiler
		if s.Name == cmp.Or(c.pprofOf, "get") && c.pprofDir != "" {
			prof = startProfile(pprofAddr, c.duration, c.pprofDir)
		}
		r, err := runWrk(ctx, c, tmp, key, oldest, s)
		if err != nil {
			return benchReport{}, fmt.Errorf("%s: %w", s.Name, err)
		}
		if prof != nil {
			if err := prof.finish(); err != nil {
				return benchReport{}, err
			}
		}
		if strings.HasPrefix(s.Name, "agent-") {
			if r.AgentSlugs, r.AgentLongest, err = agentLists(ctx, api); err != nil {
				return benchReport{}, err
			}
		}
		// The kernel updates VmHWM lazily (reading it gives the larger of the recorded peak
		// and the current RSS), so one reading can be below an earlier one: keep the maximum.
		peak = max(peak, serverPeakRSS(reps))
		r.PeakRSSMB = float64(peak) / (1 << 20)
		results = append(results, r)
	}
	progress("")
	return report(c, backend, replicas, reps[0].gomaxprocs, results, peak), nil
}

// replica is one running agentmcp serve.
type replica struct {
	cmd             *exec.Cmd
	base, pprofAddr string
	gomaxprocs      int // as its start-up line says (0: not said, an older build)
}

var loggedProcs = regexp.MustCompile(`"msg":"listening".*"gomaxprocs":(\d+)`)

// startReplica starts agentmcp serve number i on db and waits until it is ready.
func startReplica(ctx context.Context, ps *procs, c config, bin, db, tmp string, i int) (*replica, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(tmp, fmt.Sprintf("server-%d.log", i)))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	// Background probing, the rate limit and the per-app limit are off: the seeded servers'
	// URLs are made up, and the benchmark measures how fast the API can go.
	args := []string{"serve", "--addr", addr, "--db", db, "--pprof-addr", pprofAddr,
		"--probe-on-write=false", "--probe-interval=0", "--rate-limit=0", "--max-servers-per-app=-1"}
	if i > 0 {
		args = append(args, "--no-migrate")
	}
	srv := exec.Command(bin, append(args, strings.Fields(c.serveArgs)...)...)
	srv.Stdout, srv.Stderr = io.Discard, logf // the access log is on, as in production, written to a file
	if err := ps.start(srv); err != nil {
		return nil, err
	}
	r := &replica{cmd: srv, base: "http://" + addr, pprofAddr: pprofAddr}
	if err := waitReady(ctx, r.base+"/readyz"); err != nil {
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("replica %d: %w\n%s", i, err, lastLines(log, 20))
	}
	log, _ := os.ReadFile(logf.Name())
	if m := loggedProcs.FindSubmatch(log); m != nil {
		r.gomaxprocs, _ = strconv.Atoi(string(m[1]))
	}
	return r, nil
}

func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// startPostgres starts a throwaway cluster with PostgreSQL's default durability (fsync and
// synchronous_commit on, unlike the tests' cluster): the benchmark measures production's.
func startPostgres(ctx context.Context) (*pgcluster.Cluster, error) {
	bin, err := pgcluster.FindBin()
	if err != nil {
		return nil, fmt.Errorf("%w (`make bench` installs it)", err)
	}
	runAs, err := pgcluster.RunAs()
	if err != nil {
		return nil, err
	}
	return pgcluster.Start(pgcluster.Options{Bin: bin, RunAs: runAs, InitArgs: []string{"-E", "UTF8"}})
}

// seed creates n servers s000000… through the API, 16 at a time.
func seed(ctx context.Context, api *client.Client, n int) error {
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
			if i%1000 == 0 {
				progress("seeding %d/%d MCP servers", i, n)
			}
		}
	}()
	for range 16 {
		wg.Go(func() {
			for i := range next {
				slug := fmt.Sprintf("s%06d", i)
				desc := "Benchmark server number " + strconv.Itoa(i)
				_, err := api.CreateServer(ctx, client.CreateMCPServer{Name: "Server " + strconv.Itoa(i), Slug: slug,
					Url: "https://" + slug + ".mcp.example.com/mcp", Description: &desc, Icon: ptr("https://example.com/icon.png")})
				if err != nil {
					select {
					case errc <- fmt.Errorf("seeding %s: %w", slug, err):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	for i := range benchAgents {
		uid := fmt.Sprintf("bench-a%d", i)
		if _, err := api.CreateAgent(ctx, client.CreateAgent{Uid: &uid, Name: uid}); err != nil {
			return err
		}
	}
	return nil
}

// benchAgents is how many agents the agent scenarios spread their changes over.
const benchAgents = 8

// agentLists counts the slugs attached to the benchmark's agents, and the longest list.
func agentLists(ctx context.Context, api *client.Client) (total, longest int, err error) {
	for i := range benchAgents {
		a, err := api.GetAgent(ctx, fmt.Sprintf("bench-a%d", i))
		if err != nil {
			return 0, 0, err
		}
		total, longest = total+len(a.McpServers), max(longest, len(a.McpServers))
	}
	return total, longest, nil
}

func ptr[T any](v T) *T { return &v }

// fixture is what the baseline serves: every server's bytes, and two list pages.
type fixture struct {
	Servers map[string]json.RawMessage `json:"servers"`
	List10  json.RawMessage            `json:"list10"`
	Oldest  int64                      `json:"oldest_cursor"`
}

// writeFixture saves what the baseline serves and returns the deep-page cursor.
func writeFixture(ctx context.Context, api *client.Client, n int, path string) (int64, error) {
	f := fixture{Servers: make(map[string]json.RawMessage, n)}
	i := 0
	var created []int64
	for s, err := range api.All(ctx, 100) {
		if err != nil {
			return 0, err
		}
		b, _ := json.Marshal(s)
		f.Servers[s.Slug] = b
		created = append(created, s.CreatedAt)
		if i++; i%5000 == 0 {
			progress("reading back %d/%d", i, n)
		}
	}
	first, err := api.ListServers(ctx, client.ListOptions{Limit: 10})
	if err != nil {
		return 0, err
	}
	f.List10, _ = json.Marshal(first)
	// The cursor at the oldest 1%: the page after it is ~99% deep.
	if len(created) > 0 {
		f.Oldest = created[len(created)-1-len(created)/100]
	}
	b, _ := json.Marshal(f)
	return f.Oldest, os.WriteFile(path, b, 0o644)
}

// serverPeakRSS is the largest replica's peak RSS so far.
func serverPeakRSS(reps []*replica) int64 {
	var rss int64
	for _, r := range reps {
		rss = max(rss, peakRSS(r.cmd.Process.Pid))
	}
	return rss
}

func peakRSS(pid int) int64 { return procStatus(pid, "VmHWM:") }

// procStatus reads a size in kB of /proc/PID/status, in bytes.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

type profiler struct {
	wg  sync.WaitGroup
	err error
}

func startProfile(addr string, d time.Duration, dir string) *profiler {
	p := &profiler{}
	p.wg.Go(func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.err = err
			return
		}
		secs := max(1, int(d.Seconds())-1)
		p.err = fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), filepath.Join(dir, "cpu.pprof"))
		if p.err == nil {
			p.err = fetch(fmt.Sprintf("http://%s/debug/pprof/heap", addr), filepath.Join(dir, "heap.pprof"))
		}
	})
	return p
}

func (p *profiler) finish() error {
	p.wg.Wait()
	return p.err
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
