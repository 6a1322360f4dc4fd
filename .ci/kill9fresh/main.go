// Command kill9fresh measures how long a customer's metrics stay stale after kill -9 (issue 10,
// item 12): it runs invoice-ingest serve on a scratch database under write load, kills it with
// SIGKILL while it holds claims, restarts it at once, and polls over HTTP every customer the dead
// process held until all read fresh. The load goes on, on other customers, meanwhile.
//
//	go build -o /tmp/ii ./cmd/invoice-ingest && go run ./.ci/kill9fresh -binary /tmp/ii -rounds 5
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

var (
	binary = flag.String("binary", "", "invoice-ingest binary")
	server = flag.String("server", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "maintenance database URL")
	rounds = flag.Int("rounds", 5, "kill -9 rounds")
	addr   = flag.String("addr", "127.0.0.1:18391", "HTTP_ADDR of the service")
)

func main() {
	flag.Parse()
	name := fmt.Sprintf("kill9fresh_%d", time.Now().Unix())
	dbURL := strings.Replace(*server, "/postgres?", "/"+name+"?", 1)
	admin, err := sql.Open("pgx", *server)
	check(err)
	defer admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	srv := start(dbURL)
	out, err := command(dbURL, "accounts", "create", "--name", "k9").Output()
	check(err)
	var acct struct {
		APIKey string `json:"api_key"`
	}
	check(json.Unmarshal(out, &acct))
	post(acct.APIKey, "/data/data_sources", `{"name": "stripe"}`)
	db, err := sql.Open("pgx", dbURL)
	check(err)
	var phase atomic.Int64 // the load writes customers cus_<phase>_<n>
	customers(acct.APIKey, 0)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for c := range 4 {
		go load(ctx, acct.APIKey, c, &phase)
	}
	for r := 1; r <= *rounds; r++ {
		customers(acct.APIKey, phase.Load()+1) // for the load after the kill
		time.Sleep(2 * time.Second)            // load builds up
		for len(heldCustomers(db, srv.Process.Pid)) == 0 {
			time.Sleep(2 * time.Millisecond) // kill while a batch is claimed
		}
		killed := time.Now()
		check(srv.Process.Signal(syscall.SIGKILL))
		_ = srv.Wait()
		held := heldCustomers(db, srv.Process.Pid) // what the dead process still holds
		if len(held) == 0 {
			log.Printf("round %d: the batch finished before the kill, again", r)
			srv = start(dbURL)
			r--
			continue
		}
		phase.Add(1) // from now on, the load writes other customers
		srv = start(dbURL)
		n := len(held)
		for len(held) > 0 {
			held = stillStale(acct.APIKey, held)
		}
		log.Printf("round %d: %d customers held by the killed process, all fresh %.2f s after kill -9",
			r, n, time.Since(killed).Seconds())
	}
	stop()
	_ = srv.Process.Signal(syscall.SIGTERM)
	_ = srv.Wait()
}

func command(dbURL string, args ...string) *exec.Cmd {
	cmd := exec.Command(*binary, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "HTTP_ADDR="+*addr, "METRICS_ADDR=", "LOG_LEVEL=error")
	cmd.Stderr = os.Stderr
	return cmd
}

// start runs serve and waits for /healthz.
func start(dbURL string) *exec.Cmd {
	cmd := command(dbURL, "serve")
	check(cmd.Start())
	for {
		if r, err := http.Get("http://" + *addr + "/healthz"); err == nil {
			r.Body.Close()
			return cmd
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heldCustomers lists the customers claimed by process pid (locked_by is host-pid-random#...).
func heldCustomers(db *sql.DB, pid int) []string {
	rows, err := db.Query(`SELECT customer_id FROM recalc_queue WHERE locked_until > now() AND locked_by LIKE $1`,
		fmt.Sprintf("%%-%d-%%", pid))
	check(err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		check(rows.Scan(&c))
		out = append(out, c)
	}
	return out
}

// load posts 1000-invoice batches over 2000 customers of the current phase, as fast as it can.
func load(ctx context.Context, key string, client int, phase *atomic.Int64) {
	for i := 0; ctx.Err() == nil; i++ {
		p := phase.Load()
		rows := make([]string, 1000)
		for j := range rows {
			rows[j] = fmt.Sprintf(`{"id": "inv_%d_%d_%d_%d", "customer_id": "cus_%d_%d", "data_source": "stripe",
				"type": "subscription", "date": "2024-07-01", "amount_cents": %d, "currency": "usd",
				"start_date": "2024-07-01", "end_date": "2024-08-01"}`, p, client, i%5, j, p, (client*1000+j)%2000, 9900+i)
		}
		post(key, "/data/invoices", "["+strings.Join(rows, ",")+"]")
	}
}

// customers creates the 2000 customers of phase p.
func customers(key string, p int64) {
	for b := range 2 {
		rows := make([]string, 1000)
		for j := range rows {
			rows[j] = fmt.Sprintf(`{"id": "cus_%d_%d", "data_source": "stripe", "name": "c"}`, p, b*1000+j)
		}
		post(key, "/data/customers", "["+strings.Join(rows, ",")+"]")
	}
}

func post(key, path, body string) {
	req, _ := http.NewRequest("POST", "http://"+*addr+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if r, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
}

// stillStale returns those of cs that read stale, asking 32 at a time.
func stillStale(key string, cs []string) []string {
	out := make([]bool, len(cs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, c := range cs {
		sem <- struct{}{}
		wg.Go(func() { out[i] = stale(key, c); <-sem })
	}
	wg.Wait()
	var left []string
	for i, c := range cs {
		if out[i] {
			left = append(left, c)
		}
	}
	return left
}

// stale tells whether customer c's metrics read stale (or cannot be read: the server restarts).
func stale(key, c string) bool {
	req, _ := http.NewRequest("GET", "http://"+*addr+"/data/customers/"+c+"?source=stripe", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		return true
	}
	defer r.Body.Close()
	var body struct {
		Result struct {
			Stale bool `json:"metrics_stale"`
		} `json:"result"`
	}
	return r.StatusCode != http.StatusOK || json.NewDecoder(r.Body).Decode(&body) != nil || body.Result.Stale
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
