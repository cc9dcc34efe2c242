package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store keeps the supervisor's state across its own crashes: the desired projects, every replica
// it made, and each service's restart bookkeeping. Small on purpose, so etcd can replace bbolt.
type Store interface {
	PutProject(p *Project) error
	DeleteProject(name string) error
	Projects() ([]*Project, error)
	PutReplica(r *Replica) error
	DeleteReplica(id string) error
	Replicas() ([]*Replica, error)
	PutService(key string, st *ServiceState) error
	DeleteService(key string) error
	Services() (map[string]*ServiceState, error)
	Close() error
}

// DefaultStatePath is where the daemon keeps its store.
const DefaultStatePath = "/var/lib/hull/state.db"

var (
	bucketProjects = []byte("projects")
	bucketReplicas = []byte("replicas")
	bucketServices = []byte("services")
)

// BoltStore is the Store in one bbolt file: each write is one fsynced transaction, and an
// exclusive file lock keeps a second daemon out.
type BoltStore struct{ db *bolt.DB }

// OpenBolt opens (or creates) the store at path.
func OpenBolt(path string) (*BoltStore, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("state store %s: %w (is another hull daemon running?)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketProjects, bucketReplicas, bucketServices} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

func (s *BoltStore) put(bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), b) })
}

func (s *BoltStore) del(bucket []byte, key string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(key)) })
}

func each[T any](s *BoltStore, bucket []byte, fn func(key string, v *T)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, b []byte) error {
			v := new(T)
			if err := json.Unmarshal(b, v); err != nil {
				return fmt.Errorf("state store: %s/%s: %w", bucket, k, err)
			}
			fn(string(k), v)
			return nil
		})
	})
}

func (s *BoltStore) PutProject(p *Project) error     { return s.put(bucketProjects, p.Name, p) }
func (s *BoltStore) DeleteProject(name string) error { return s.del(bucketProjects, name) }
func (s *BoltStore) PutReplica(r *Replica) error     { return s.put(bucketReplicas, r.ID, r) }
func (s *BoltStore) DeleteReplica(id string) error   { return s.del(bucketReplicas, id) }
func (s *BoltStore) PutService(key string, st *ServiceState) error {
	return s.put(bucketServices, key, st)
}
func (s *BoltStore) DeleteService(key string) error { return s.del(bucketServices, key) }
func (s *BoltStore) Close() error                   { return s.db.Close() }

func (s *BoltStore) Projects() ([]*Project, error) {
	var out []*Project
	return out, each(s, bucketProjects, func(_ string, p *Project) { out = append(out, p) })
}

func (s *BoltStore) Replicas() ([]*Replica, error) {
	var out []*Replica
	return out, each(s, bucketReplicas, func(_ string, r *Replica) { out = append(out, r) })
}

func (s *BoltStore) Services() (map[string]*ServiceState, error) {
	out := map[string]*ServiceState{}
	return out, each(s, bucketServices, func(k string, st *ServiceState) { out[k] = st })
}
