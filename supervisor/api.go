package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultSocket is where the daemon listens: HTTP+JSON on a unix socket only root can open.
const DefaultSocket = "/run/hull/hull.sock"

// Handler is the daemon's API.
//
//	POST   /v1/projects              body: Project         apply (hull up)
//	DELETE /v1/projects/{name}                             down; returns when nothing is left
//	GET    /v1/projects/{name}/logs                        every replica's log, followed
//	GET    /v1/services                                    []ServiceStatus (service ls)
//	GET    /v1/service?name=S                              Inspection (service ps, inspect)
//	POST   /v1/service/restart?name=S                      restart, clears gave-up
//	POST   /v1/service/rollback?name=S                     back to the previous revision
//	GET    /v1/service/history?name=S                      []RevisionRecord
//	POST   /v1/service/scale?name=S&replicas=N             desired replicas
//	GET    /v1/service/logs?name=S&follow=1                text
//	GET    /v1/events                                      JSON lines, streaming
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/projects", func(w http.ResponseWriter, r *http.Request) {
		var p Project
		if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&p); err != nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("project: %w", err))
			return
		}
		if err := s.Apply(r.Context(), &p); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, map[string]string{"project": p.Name})
	})
	mux.HandleFunc("DELETE /v1/projects/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Down(r.Context(), r.PathValue("name")); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, map[string]string{"project": r.PathValue("name")})
	})
	mux.HandleFunc("GET /v1/projects/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_ = s.FollowProject(r.Context(), r.PathValue("name"), flushWriter{w})
	})
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.Services())
	})
	mux.HandleFunc("GET /v1/service", func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Resolve(r.URL.Query().Get("name"))
		if err == nil {
			var in *Inspection
			if in, err = s.Inspect(k); err == nil {
				writeJSON(w, in)
				return
			}
		}
		httpError(w, http.StatusNotFound, err)
	})
	mux.HandleFunc("POST /v1/service/restart", s.serviceAction(http.StatusNotFound, s.Restart))
	mux.HandleFunc("POST /v1/service/rollback", s.serviceAction(http.StatusBadRequest, s.Rollback))
	mux.HandleFunc("POST /v1/service/scale", func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Resolve(r.URL.Query().Get("name"))
		if err == nil {
			var n int
			if n, err = strconv.Atoi(r.URL.Query().Get("replicas")); err == nil {
				err = s.Scale(k, n)
			}
		}
		if err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, map[string]string{"service": k})
	})
	mux.HandleFunc("GET /v1/service/history", func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Resolve(r.URL.Query().Get("name"))
		var h []RevisionRecord
		if err == nil {
			h, err = s.History(k)
		}
		if err != nil {
			httpError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, h)
	})
	mux.HandleFunc("GET /v1/service/logs", func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Resolve(r.URL.Query().Get("name"))
		if err != nil {
			httpError(w, http.StatusNotFound, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_ = s.Logs(r.Context(), k, r.URL.Query().Get("follow") == "1", flushWriter{w})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		_ = s.Subscribe(r.Context(), func(e Event) error {
			if err := enc.Encode(e); err != nil {
				return err
			}
			http.NewResponseController(w).Flush()
			return nil
		})
	})
	return mux
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) { return f.w.Write(b) }
func (f flushWriter) Flush()                      { http.NewResponseController(f.w).Flush() }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// Listen opens the API socket, root-only (0600), replacing a stale one a dead daemon left: if
// something still answers on it, another daemon runs and this one must not start.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return nil, fmt.Errorf("socket dir: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("a hull daemon already listens on %s", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return l, nil
}

// Client talks to a daemon's API.
type Client struct {
	hc *http.Client
}

// NewClient dials the daemon at socket for each request.
func NewClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{hc: &http.Client{Transport: tr}}
}

// ErrNoDaemon says nothing listens on the socket.
var ErrNoDaemon = errors.New("no hull daemon is running")

// Ping reports whether a daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	var out []ServiceStatus
	return c.do(ctx, http.MethodGet, "/v1/services", nil, &out)
}

func (c *Client) Apply(ctx context.Context, p *Project) error {
	return c.do(ctx, http.MethodPost, "/v1/projects", p, nil)
}

func (c *Client) Down(ctx context.Context, project string) error {
	return c.do(ctx, http.MethodDelete, "/v1/projects/"+project, nil, nil)
}

func (c *Client) Services(ctx context.Context) ([]ServiceStatus, error) {
	var out []ServiceStatus
	return out, c.do(ctx, http.MethodGet, "/v1/services", nil, &out)
}

func (c *Client) Inspect(ctx context.Context, name string) (*Inspection, error) {
	var out Inspection
	return &out, c.do(ctx, http.MethodGet, "/v1/service?name="+urlEscape(name), nil, &out)
}

func (c *Client) Restart(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/service/restart?name="+urlEscape(name), nil, nil)
}

func (c *Client) Rollback(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/v1/service/rollback?name="+urlEscape(name), nil, nil)
}

func (c *Client) Scale(ctx context.Context, name string, n int) error {
	return c.do(ctx, http.MethodPost, "/v1/service/scale?name="+urlEscape(name)+"&replicas="+strconv.Itoa(n), nil, nil)
}

func (c *Client) History(ctx context.Context, name string) ([]RevisionRecord, error) {
	var out []RevisionRecord
	return out, c.do(ctx, http.MethodGet, "/v1/service/history?name="+urlEscape(name), nil, &out)
}

// Logs copies a service's logs to w (following with follow, until ctx ends).
func (c *Client) Logs(ctx context.Context, name string, follow bool, w io.Writer) error {
	q := "/v1/service/logs?name=" + urlEscape(name)
	if follow {
		q += "&follow=1"
	}
	resp, err := c.stream(ctx, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// FollowProject copies every log line of a project to w until ctx ends.
func (c *Client) FollowProject(ctx context.Context, project string, w io.Writer) error {
	resp, err := c.stream(ctx, "/v1/projects/"+project+"/logs")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Events calls fn for each event until ctx ends.
func (c *Client) Events(ctx context.Context, fn func(json.RawMessage) error) error {
	resp, err := c.stream(ctx, "/v1/events")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(json.RawMessage(sc.Bytes())); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

func (c *Client) stream(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://hull"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, noDaemon(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, apiError(resp)
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hull"+path, rd)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return noDaemon(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func noDaemon(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return ErrNoDaemon
	}
	return err
}

func apiError(resp *http.Response) error {
	var e struct{ Error string }
	if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return fmt.Errorf("daemon answered %s", resp.Status)
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// serviceAction is a POST on the service ?name= names: act on it, answer with its key, or with
// failStatus and the error.
func (s *Supervisor) serviceAction(failStatus int, act func(key string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Resolve(r.URL.Query().Get("name"))
		if err == nil {
			err = act(k)
		}
		if err != nil {
			httpError(w, failStatus, err)
			return
		}
		writeJSON(w, map[string]string{"service": k})
	}
}
