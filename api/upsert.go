package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/imports"
	"invoice-ingest/ingest"
	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// batchFunc is one of ingest.Service's batch methods.
type batchFunc func(ctx context.Context, account uuid.UUID, rows validation.Rows, opt ingest.Options) ([]ingest.Result, error)

// upsert serves POST /data/{customers,plans,invoices}: a JSON object or array of rows, or an
// NDJSON stream (see upsertStream), answered with one result per row in request order.
func (s *Server) upsert(entity string, batch batchFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		opt, err := options(c)
		if err != nil {
			writeError(c, err)
			return
		}
		if _, err := gzipped(c); err != nil { // before a stream starts reading
			writeError(c, err)
			return
		}
		switch mediaType(c) {
		case typeJSON, "":
		case typeNDJSON:
			if c.Request.Header.Get(idempotencyKeyHeader) != "" {
				writeError(c, models.Errorf(models.EINVALID, "Idempotency-Key is for JSON bodies; an NDJSON stream resumes instead (re-send it: stored rows answer unchanged)."))
				return
			}
			s.upsertStream(c, entity, batch, opt)
			return
		default:
			writeError(c, unsupportedType(c, typeJSON+" or "+typeNDJSON))
			return
		}
		buf := bodyBuffers.get()
		defer bodyBuffers.put(buf)
		body, err := s.readBody(c, buf)
		if err != nil {
			writeError(c, err)
			return
		}
		rows, err := validation.DecodeBody(body, s.Config.MaxRows)
		switch {
		case errors.Is(err, validation.ErrTooManyRows):
			writeError(c, models.Errorf(models.ETOOLARGE, "A request holds at most %d rows; send more as several requests or as NDJSON.", s.Config.MaxRows))
			return
		case err != nil:
			writeError(c, models.Errorf(models.EINVALID, "%s", bodyProblem(err)))
			return
		case rows.Len() == 1:
			if member, ok := wrappedRows(rows.At(0)); ok {
				writeError(c, models.Errorf(models.EINVALID, "The body is an object holding its rows in %s: "+
					"send the array itself as the body, [{...}, {...}], not wrapped in an object.", member))
				return
			}
		}
		s.upsertJSON(c, entity, batch, opt, body, rows)
	}
}

// upsertJSON runs the batch of a JSON request, as an import, and answers it; with an
// Idempotency-Key it runs at most once per key (see claimKey), and its answer is stored in the
// batch's write transaction (or its own statement when the batch writes nothing).
func (s *Server) upsertJSON(c *gin.Context, entity string, batch batchFunc, opt ingest.Options, body []byte, rows validation.Rows) {
	key, err := idempotencyKey(c)
	if err != nil {
		writeError(c, err)
		return
	}
	var held *heldKey
	if key != "" {
		if held = s.claimKey(c, key, body); held == nil {
			return // answered
		}
		if s.hooks.keyClaimed != nil {
			s.hooks.keyClaimed()
		}
	}
	imp := newImport(c, entity, typeJSON, opt)
	opt.ImportID = imp.ID
	var answer []byte // the stored answer, when one is
	opt.Record = func(tx *gorm.DB, res []ingest.Result, sources []uuid.UUID, wrote bool) error {
		b := importBatch(res, sources, 0, func(i int) ([]byte, bool) { return rows.At(i), true })
		b.Alone = !wrote
		if held != nil && !opt.DryRun {
			answer = appendRowResults(answer[:0], res, imp.ID)
			b.Answer = &imports.Answer{Key: held.key, Token: held.token, Status: answerStored, Body: answer}
		}
		if err := recordImport(c.Request.Context(), tx, imp, b, wrote); err != nil {
			return err
		}
		if s.hooks.recorded != nil {
			s.hooks.recorded(tx, c.Request)
		}
		return nil
	}
	res, err := batch(c.Request.Context(), accountID(c), rows, opt)
	if err != nil {
		if errors.Is(err, imports.ErrKeyLost) {
			err = models.Errorf(codeIdempotencyKeyInUse, "This request ran longer than its Idempotency-Key's lease and another request took the key; nothing was written.")
		}
		writeError(c, err)
		s.afterFailure(c, held, imp)
		return
	}
	if opt.DryRun {
		s.releaseKey(c, held)
	}
	if s.hooks.beforeAnswer != nil && !s.hooks.beforeAnswer(c.Request) {
		panic(http.ErrAbortHandler) // a test's crash between the commit and the answer
	}
	if answer != nil {
		c.Render(answerStored, encodedJSON(answer))
		return
	}
	writeRowResults(c, res, imp.ID)
}

// options reads the query parameters of a write.
func options(c *gin.Context) (ingest.Options, error) {
	var opt ingest.Options
	if v, ok := c.GetQuery("dry_run"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return opt, models.Errorf(models.EINVALID, "dry_run must be true or false.")
		}
		opt.DryRun = b
	}
	return opt, nil
}

// bodyProblem words a body decoding error for the client: validation's errors are safe to show.
func bodyProblem(err error) string {
	return "Invalid JSON body: " + strings.TrimPrefix(err.Error(), validation.ErrBody.Error()+": ") + "."
}

// wrappedRows tells whether a body of one object is rows wrapped in an object, as some APIs want
// them ({"data": [{...}]}): an object whose only member is an array of objects. member is that
// member's name as the message shows it.
func wrappedRows(row json.RawMessage) (member string, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(row, &obj) != nil || len(obj) != 1 {
		return "", false
	}
	for name, v := range obj {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil {
			return "", false
		}
		for _, el := range list {
			if len(el) == 0 || el[0] != '{' {
				return "", false
			}
		}
		if len(name) > 50 {
			name = name[:50]
		}
		return strconv.QuoteToASCII(name), true
	}
	return "", false
}
