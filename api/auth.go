package api

import (
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
)

// authenticate resolves the bearer key once per request and puts it in the context. Every failure
// answers the same 401, so a caller learns nothing about which keys exist.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !models.LooksLikeKey(strings.TrimSpace(token)) {
			writeError(c, models.Errorf(models.EUNAUTHORIZED, "Unauthenticated."))
			return
		}
		key, err := s.DB.FindKey(c.Request.Context(), strings.TrimSpace(token))
		if models.ErrorCode(err) == models.ENOTFOUND {
			writeError(c, models.Errorf(models.EUNAUTHORIZED, "Unauthenticated."))
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
