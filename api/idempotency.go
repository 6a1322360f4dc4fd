package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/config"
	"invoice-ingest/imports"
	"invoice-ingest/models"
)

// Idempotency-Key (SPEC 3, docs/imports.md): a JSON write sent with the header runs once per key
// and account; its first answer (200 and body) is stored in the write's own transaction, and a
// later request with the key and the same method, path, query and body gets it again, with
// Idempotent-Replayed: true, and runs nothing.
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
)

// minKeyLease is the least time a request holds its key's running row: a holder that crashed
// blocks the key that long at most. A request may run REQUEST_TIMEOUT, so the lease covers that.
const minKeyLease = 60 * time.Second

// heldKey is the Idempotency-Key a request holds while it runs.
type heldKey struct {
	key   string
	token uuid.UUID
}

// idempotencyKey returns the request's Idempotency-Key, "" when it has none: 400 unless it is 1
// to 255 printable ASCII characters.
func idempotencyKey(c *gin.Context) (string, error) {
	values := c.Request.Header.Values(idempotencyKeyHeader)
	if len(values) == 0 {
		return "", nil
	}
	k := values[0]
	ok := len(values) == 1 && len(k) >= 1 && len(k) <= 255
	for i := 0; ok && i < len(k); i++ {
		ok = k[i] >= 0x20 && k[i] <= 0x7e
	}
	if !ok {
		return "", models.Errorf(models.EINVALID, "Idempotency-Key must be one header of 1 to 255 printable ASCII characters.")
	}
	return k, nil
}

// claimKey takes key for the JSON request c with body (decompressed), or answers c: 409 while
// another request with the key runs, 422 when the key answered a different request, the stored
// answer when it answered this one. held is nil when c is answered.
func (s *Server) claimKey(c *gin.Context, key string, body []byte) (held *heldKey) {
	fp := imports.Fingerprint(c.Request.Method, c.Request.URL.EscapedPath(), c.Request.URL.RawQuery, body)
	cl, err := imports.ClaimKey(c.Request.Context(), s.DB.Gorm, accountID(c), key, fp, s.keyLease(), s.keyTTL())
	switch {
	case err != nil:
		writeError(c, err)
	case cl.State == imports.KeyClaimed:
		return &heldKey{key: key, token: cl.Token}
	case cl.State == imports.KeyInUse:
		writeError(c, models.Errorf(codeIdempotencyKeyInUse, "A request with this Idempotency-Key is still running; retry once it has answered."))
	case cl.State == imports.KeyReused:
		writeError(c, models.Errorf(codeIdempotencyKeyReused, "This Idempotency-Key was used for a different request (method, path, query or body); use a new key."))
	default:
		if cl.Import != uuid.Nil {
			c.Header(importIDHeader, cl.Import.String())
		}
		c.Header(replayedHeader, "true")
		c.Render(cl.Stored.Status, encodedJSON(cl.Stored.Body))
	}
	return nil
}

// releaseKey gives back a key whose request stored no answer (it failed, or was a dry run).
func (s *Server) releaseKey(c *gin.Context, held *heldKey) {
	if held == nil {
		return
	}
	ctx, cancel := detached(c)
	defer cancel()
	if err := imports.ReleaseKey(ctx, s.DB.Gorm, accountID(c), held.key, held.token); err != nil {
		logger(c).Warn("release idempotency key; it frees itself when its lease ends", "error", err.Error())
	}
}

func (s *Server) keyLease() time.Duration {
	return max(minKeyLease, s.Config.RequestTimeout+10*time.Second)
}

func (s *Server) keyTTL() time.Duration {
	if s.Config.Imports.IdempotencyTTL > 0 {
		return s.Config.Imports.IdempotencyTTL
	}
	return config.DefaultIdempotencyTTL
}

// answerStored is the status of the answers a key keeps: every stored one is a 200.
const answerStored = http.StatusOK
