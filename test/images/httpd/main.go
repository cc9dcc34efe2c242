// Command httpd is the tiny static HTTP server hull's supervisor tests, benchmarks and README
// example run as a service (built with CGO_ENABLED=0 into a busybox rootfs: no registry needed).
//
//	GET /         "hello from <hostname>"
//	GET /healthz  200, or 503 once /tmp/unhealthy exists (tests make a replica sick with exec)
//	GET /crash    exits with code 3 (a crash on demand)
//
// It listens on $PORT (default 80) and stops cleanly on SIGTERM. `httpd get URL` is a client
// instead: it prints the body (Go's own resolver, which reads /etc/hosts: the tests' way to
// check service names, since Debian's static busybox crashes in name lookups).
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		get(os.Args[2])
		return
	}
	host, _ := os.Hostname()
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat("/tmp/unhealthy"); err == nil {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("crashing on request")
		os.Exit(3)
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("SIGTERM: shutting down")
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Printf("httpd %s listening on :%s\n", host, port)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func get(url string) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
}
