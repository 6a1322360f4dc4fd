package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"invoice-ingest/imports"
	"invoice-ingest/models"
)

// toImportResponse is an import on the wire (SPEC 4), the same object the import webhooks carry.
func toImportResponse(i imports.Import) imports.Object { return i.Object() }

// listImports serves GET /data/imports?limit=&cursor=&source=: the account's imports, newest
// first; with source (UUID or name), only those whose rows named that data source.
func (s *Server) listImports(c *gin.Context) {
	page, err := queryPage(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var source uuid.UUID
	if ref := c.Query("source"); ref != "" {
		src, err := s.DB.FindDataSource(c.Request.Context(), accountID(c), ref)
		if err != nil {
			writeError(c, err)
			return
		}
		source = src.ID
	}
	list, next, more, err := imports.List(c.Request.Context(), s.DB.Gorm, accountID(c), source, page.Limit, page.Cursor)
	if err != nil {
		writeError(c, err)
		return
	}
	result(c, http.StatusOK, toListResponse(list, next, more, toImportResponse))
}

// getImport serves GET /data/imports/{id}: 404 for an unknown id or another account's import.
func (s *Server) getImport(c *gin.Context) {
	id, err := importParam(c)
	if err == nil {
		var imp imports.Import
		if imp, err = imports.Get(c.Request.Context(), s.DB.Gorm, accountID(c), id); err == nil {
			result(c, http.StatusOK, toImportResponse(imp))
			return
		}
	}
	writeError(c, err)
}

// importParam is the id path parameter: an id that is no UUID names no import.
func importParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil || len(c.Param("id")) != 36 {
		return uuid.Nil, models.Errorf(models.ENOTFOUND, "Import %s does not exist.", quoteHeader(c.Param("id")))
	}
	return id, nil
}

// importErrors serves GET /data/imports/{id}/errors: application/x-ndjson, one line per kept row
// in error, in index order: {"index","id","import_error","errors","row"}, row being the row as
// sent. A row that was JSON is that JSON text (whitespace between tokens dropped when it spanned
// lines, so that each answer is one line); an NDJSON line that was not JSON is a JSON string of
// its text; a line over 1 MiB, which was never kept, is null.
func (s *Server) importErrors(c *gin.Context) {
	id, err := importParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var out *bufio.Writer
	var line []byte
	err = imports.ErrorRows(c.Request.Context(), s.DB.Gorm, accountID(c), id, func(r imports.ErrorRow) error {
		if out == nil {
			out = startErrors(c)
		}
		line = appendErrorRow(line[:0], r)
		_, err := out.Write(line)
		return err
	})
	switch {
	case err != nil && out == nil:
		writeError(c, err)
		return
	case err != nil:
		logger(c).Warn("import errors cut", "error", err.Error())
	case out == nil:
		out = startErrors(c)
	}
	_ = out.Flush()
}

// startErrors sends the status and type of an errors answer.
func startErrors(c *gin.Context) *bufio.Writer {
	c.Header("Content-Type", "application/x-ndjson")
	c.Status(http.StatusOK)
	return bufio.NewWriterSize(c.Writer, 64<<10)
}

// appendErrorRow appends the line of one row in error, newline included.
func appendErrorRow(dst []byte, r imports.ErrorRow) []byte {
	dst = append(dst, r.Line...)
	dst = append(dst, `,"row":`...)
	switch {
	case r.Raw == nil:
		dst = append(dst, "null"...)
	case r.RawJSON && bytes.ContainsAny(r.Raw, "\r\n"):
		var b bytes.Buffer
		if json.Compact(&b, r.Raw) == nil {
			dst = append(dst, b.Bytes()...)
		} else {
			dst = appendJSONString(dst, string(r.Raw))
		}
	case r.RawJSON:
		dst = append(dst, r.Raw...)
	default:
		dst = appendJSONString(dst, string(r.Raw))
	}
	return append(dst, "}\n"...)
}
