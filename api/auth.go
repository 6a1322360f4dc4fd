package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
)

// Failed keys are remembered for unknownKeyTTL (at most maxUnknownKeys of them), so a client
// retrying a wrong key, or a flood of one, costs no database query.
const (
	unknownKeyTTL  = 30 * time.Second
	maxUnknownKeys = 1 << 14
)

// keyLookupTimeout bounds one key lookup, which is shared by the requests that carry that key at
// the same time and so runs on no one request's context.
const keyLookupTimeout = 10 * time.Second

// How to authenticate, and the hints for the mistakes clients make most.
const (
	howToAuth     = `Send the API key as "Authorization: Bearer ik_...".`
	hintMissing   = "Authentication required. " + howToAuth
	hintBasic     = `Send the API key as a Bearer token, not Basic auth: "Authorization: Bearer ik_...".`
	hintXAPIKey   = `Send the API key in the Authorization header as a Bearer token, not in X-API-Key: "Authorization: Bearer ik_...".`
	hintScheme    = "Unsupported authorization scheme. " + howToAuth
	hintPrefix    = `API keys start with "ik_": send the key you were given as "Authorization: Bearer ik_...".`
	hintMalformed = `The token is not a complete API key (ik_ and 43 more characters). ` + howToAuth
	hintUnknown   = "The API key is unknown or revoked. " + howToAuth
)

// authenticate resolves the bearer key once per request and puts it in the context. A failure
// answers 401 with a hint that never depends on which keys exist; failures are limited per client
// address (429 beyond RATE_LIMIT_AUTH_FAILURES), and a key that failed recently is refused without
// a query.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, hint := bearerToken(c.Request.Header)
		if hint != "" {
			s.authFailed(c, hint)
			return
		}
		hash := sha256.Sum256([]byte(token))
		if s.limits.knownUnknown(hash) {
			s.authFailed(c, hintUnknown)
			return
		}
		if set := s.limits.authFailures; set != nil {
			// An address over its failure budget gets no lookup at all, so a flood of random keys
			// costs no queries either (its valid keys wait too: the answer says how long).
			if v := set.peek(clientAddr(c), s.limits.now()); !v.ok {
				setRateHeaders(c, v)
				s.refuse(c, bucketAuth, v)
				return
			}
		}
		key, err := s.findKey(c, token, hash)
		if models.ErrorCode(err) == models.ENOTFOUND {
			s.authFailed(c, hintUnknown)
			return
		}
		if err != nil {
			writeError(c, err)
			return
		}
		c.Set(ctxKey, key)
		c.Next()
	}
}

// bearerToken returns the token of the request's "Authorization: Bearer" header when it has the
// shape of a key, else a hint saying what is wrong.
func bearerToken(h http.Header) (token, hint string) {
	auth := strings.TrimSpace(h.Get("Authorization"))
	if auth == "" {
		if h.Get("X-API-Key") != "" {
			return "", hintXAPIKey
		}
		return "", hintMissing
	}
	scheme, rest, _ := strings.Cut(auth, " ")
	token = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		return "", hintBasic
	case !strings.EqualFold(scheme, "Bearer"):
		return "", hintScheme
	case token == "":
		return "", hintMissing
	case !strings.HasPrefix(token, "ik_"):
		if b, err := base64.StdEncoding.DecodeString(token); err == nil && strings.HasPrefix(string(b), "ik_") {
			return "", hintBasic // a Basic credential sent under Bearer
		}
		return "", hintPrefix
	case !models.LooksLikeKey(token):
		return "", hintMalformed
	}
	return token, ""
}

// authFailed answers a failed authentication: 401 with the hint, or 429 when the client's address
// has failed too often.
func (s *Server) authFailed(c *gin.Context, hint string) {
	if set := s.limits.authFailures; set != nil {
		v := set.take(clientAddr(c), s.limits.now())
		setRateHeaders(c, v)
		if !v.ok {
			s.refuse(c, bucketAuth, v)
			return
		}
	}
	c.Header("WWW-Authenticate", `Bearer realm="invoice-ingest"`)
	writeError(c, models.Errorf(models.EUNAUTHORIZED, "%s", hint))
}

// findKey looks the key up. Requests carrying the same key at the same time share one query, and
// a key found unknown (or revoked) is remembered for unknownKeyTTL. The shared query runs on no
// one request's context, but each request waits for it only as long as its own context allows
// (REQUEST_TIMEOUT), so a database that does not answer makes every request a 503 in time.
func (s *Server) findKey(c *gin.Context, token string, hash [32]byte) (models.APIKey, error) {
	ch := s.limits.lookups.DoChan(string(hash[:]), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), s.limits.lookupTimeout)
		defer cancel()
		key, err := s.DB.FindKey(ctx, token)
		if models.ErrorCode(err) == models.ENOTFOUND {
			s.limits.unknownKeys.put(hash, s.limits.now().Add(unknownKeyTTL))
		}
		return key, err
	})
	select {
	case r := <-ch:
		key, _ := r.Val.(models.APIKey)
		return key, r.Err
	case <-c.Request.Context().Done():
		return models.APIKey{}, fmt.Errorf("look up key: %w", c.Request.Context().Err())
	}
}

// knownUnknown tells whether the key of hash failed within unknownKeyTTL.
func (a *admission) knownUnknown(hash [32]byte) bool {
	until, ok := a.unknownKeys.get(hash)
	if ok && a.now().After(until) {
		a.unknownKeys.remove(hash)
		return false
	}
	return ok
}

// clientAddr is the address failed authentications are counted by: the peer's IP (forwarding
// headers are not believed: anyone can send them), an IPv6 client by its /64, which one host
// usually holds whole.
func clientAddr(c *gin.Context) netip.Prefix {
	addr, err := netip.ParseAddr(c.RemoteIP())
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// requireScope refuses keys without scope with 403.
func requireScope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !apiKey(c).HasScope(scope) {
			writeError(c, models.Errorf(models.EFORBIDDEN, "This API key lacks the %s scope.", scope))
			return
		}
		c.Next()
	}
}

// apiKey returns the authenticated key of the request.
func apiKey(c *gin.Context) models.APIKey { return c.MustGet(ctxKey).(models.APIKey) }

// accountID returns the account every query of the request is scoped by.
func accountID(c *gin.Context) uuid.UUID { return apiKey(c).AccountID }
