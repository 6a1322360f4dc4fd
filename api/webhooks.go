package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/models"
	"invoice-ingest/webhooks"
)

// webhookRoutes registers the webhook endpoints' routes (SPEC 9): reading them and their
// deliveries needs data:read, creating and deleting them data:write.
func (s *Server) webhookRoutes(read, write *gin.RouterGroup) {
	getAndHead(read, "/webhooks", s.listWebhooks)
	getAndHead(read, "/webhooks/:id/deliveries", s.webhookDeliveries)
	write.POST("/webhooks", s.createWebhook)
	write.DELETE("/webhooks/:id", s.deleteWebhook)
}

// webhookResponse is an endpoint on the wire; the secret only in the answer to its creation.
type webhookResponse struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func toWebhookResponse(e webhooks.Endpoint) webhookResponse {
	return webhookResponse{ID: e.ID.String(), URL: e.URL, Events: e.Events, Secret: e.Secret, CreatedAt: e.CreatedAt.UTC()}
}

// deliveryResponse is a delivery in the log (SPEC 9).
type deliveryResponse struct {
	EventID        string     `json:"event_id"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func toDeliveryResponse(d webhooks.Delivery) deliveryResponse {
	return deliveryResponse{EventID: webhooks.EventID(d.EventID), Type: d.Type, Status: d.Status, Attempts: d.Attempts,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, NextAttemptAt: utcOrNil(d.NextAttemptAt),
		CreatedAt: d.CreatedAt.UTC()}
}

// webhookGuard is the SSRF guard of webhook URLs this server's configuration asks for.
func (s *Server) webhookGuard() webhooks.Guard {
	return webhooks.Guard{AllowPrivate: s.Config.Webhooks.AllowPrivate}
}

// createWebhook serves POST /data/webhooks {"url", "events"}: 201 with the endpoint and its
// secret, shown only here.
func (s *Server) createWebhook(c *gin.Context) {
	if !requireJSON(c) {
		return
	}
	body, err := s.readBody(c, new([]byte))
	if err != nil {
		writeError(c, err)
		return
	}
	var req struct {
		URL    *string  `json:"url"`
		Events []string `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.URL == nil || dec.More() {
		writeError(c, models.Errorf(models.EINVALID, `Body must be a JSON object {"url": "https://...", "events": [...]}.`))
		return
	}
	e, err := webhooks.Create(c.Request.Context(), s.DB.Gorm, s.webhookGuard(), accountID(c),
		webhooks.NewEndpoint{URL: *req.URL, Events: req.Events}, models.Now())
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusCreated, toWebhookResponse(e))
}

// listWebhooks serves GET /data/webhooks: every endpoint of the account (at most
// webhooks.MaxEndpoints), oldest first, without secrets.
func (s *Server) listWebhooks(c *gin.Context) {
	list, err := webhooks.List(c.Request.Context(), s.DB.Gorm, accountID(c))
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, "", false, toWebhookResponse))
}

// deleteWebhook serves DELETE /data/webhooks/{id}: 204; its pending deliveries are not sent.
func (s *Server) deleteWebhook(c *gin.Context) {
	id, err := webhookParam(c)
	if err == nil {
		err = webhooks.Delete(c.Request.Context(), s.DB.Gorm, accountID(c), id)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// webhookDeliveries serves GET /data/webhooks/{id}/deliveries?limit=&cursor=: the endpoint's
// deliveries, newest first.
func (s *Server) webhookDeliveries(c *gin.Context) {
	id, err := webhookParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	page, err := queryPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	list, next, more, err := webhooks.Deliveries(c.Request.Context(), s.DB.Gorm, accountID(c), id, page)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, next, more, toDeliveryResponse))
}

// webhookParam is the id path parameter: an id that is no UUID names no endpoint.
func webhookParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil || len(c.Param("id")) != 36 {
		return uuid.Nil, models.Errorf(models.ENOTFOUND, "Webhook endpoint %s does not exist.", quoteHeader(c.Param("id")))
	}
	return id, nil
}
