package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

type dataSourceResponse struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func toDataSourceResponse(s models.DataSource) dataSourceResponse {
	return dataSourceResponse{ID: s.ID.String(), Name: s.Name, CreatedAt: s.CreatedAt.UTC()}
}

// createDataSource: 201 with a new source, 200 with the existing one of that name.
func (s *Server) createDataSource(c *gin.Context) {
	if !requireJSON(c) {
		return
	}
	body, err := s.readBody(c, new([]byte)) // small: not worth a pooled buffer
	if err != nil {
		writeError(c, err)
		return
	}
	name, err := validation.DecodeName(body)
	if err != nil {
		writeError(c, models.Errorf(models.EINVALID, `Body must be a JSON object with "name": a string of 1 to 255 bytes of valid UTF-8 without NUL characters.`))
		return
	}
	src, created, err := s.DB.CreateDataSource(c.Request.Context(), accountID(c), name)
	if err != nil {
		writeError(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	result(c, status, toDataSourceResponse(src))
}

func (s *Server) listDataSources(c *gin.Context) {
	list, err := s.DB.ListDataSources(c.Request.Context(), accountID(c))
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]dataSourceResponse, len(list))
	for i, src := range list {
		out[i] = toDataSourceResponse(src)
	}
	result(c, http.StatusOK, gin.H{"count": len(out), "list": out})
}
