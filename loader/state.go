package loader

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"invoice-ingest/client"
)

// StateHeader is the first line of a state file: what a resumed run must match to reuse it.
type StateHeader struct {
	RunID      string `json:"run_id"` // part of every batch's Idempotency-Key
	Entity     string `json:"entity"`
	Source     string `json:"source"`
	Batch      int    `json:"batch"`
	AmountUnit string `json:"amount_unit"`
	DryRun     bool   `json:"dry_run"`
}

// stateLine is one acknowledged batch.
type stateLine struct {
	Batch  int           `json:"batch"`
	Counts client.Counts `json:"counts"`
}

// State is the state file beside an input (FILE.push-state): its header, then one line per
// batch the service answered. A resumed run skips those batches and counts them as recorded.
type State struct {
	Header StateHeader
	Done   map[int]client.Counts
	f      *os.File
}

// OpenState opens path for a run described by h. With resume, an existing file whose header
// matches h (but for its run id, which is kept) is continued; without, or when none exists, a
// new file with a new run id is written. A file of another run shape is refused.
func OpenState(path string, h StateHeader, resume bool) (*State, error) {
	st := &State{Header: h, Done: map[int]client.Counts{}}
	if resume {
		err := st.load(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		default:
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
			st.f = f
			return st, err
		}
	}
	st.Header.RunID = newRunID()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	st.f = f
	return st, st.append(st.Header)
}

// NewRunState is a state kept in memory only (standard input, sync stripe).
func NewRunState(h StateHeader) *State {
	h.RunID = newRunID()
	return &State{Header: h, Done: map[int]client.Counts{}}
}

func newRunID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// load reads an existing state file; a torn last line (a crash while writing it) is ignored.
func (st *State) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return fmt.Errorf("%s: empty state file; remove it to start afresh", path)
	}
	var h StateHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.RunID == "" {
		return fmt.Errorf("%s is not a push state file; remove it to start afresh", path)
	}
	want := st.Header
	want.RunID = h.RunID
	if h != want {
		return fmt.Errorf("%s was written by a push with other options (%+v); run with the same --entity, --source, --batch, --amount-unit and --dry-run, or remove it", path, h)
	}
	st.Header = h
	for sc.Scan() {
		var l stateLine
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			st.Done[l.Batch] = l.Counts
		}
	}
	return sc.Err()
}

// Ack records that batch n was answered with counts; it is on disk when Ack returns.
func (st *State) Ack(n int, c client.Counts) error {
	st.Done[n] = c
	return st.append(stateLine{Batch: n, Counts: c})
}

func (st *State) append(v any) error {
	if st.f == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	if _, err := st.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return st.f.Sync()
}

// Close closes the file; with remove (the run finished) it is deleted, since nothing is left to
// resume.
func (st *State) Close(remove bool) error {
	if st.f == nil {
		return nil
	}
	err := st.f.Close()
	if remove && err == nil {
		err = os.Remove(st.f.Name())
	}
	return err
}
