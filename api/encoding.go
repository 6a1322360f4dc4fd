package api

import (
	"compress/gzip"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"invoice-ingest/models"
)

// Content types of request bodies.
const (
	typeJSON   = "application/json"
	typeNDJSON = "application/x-ndjson"
)

// mediaType is the request's Content-Type without parameters, in lower case ("" when absent), so
// "APPLICATION/JSON; charset=utf-8" is application/json.
func mediaType(c *gin.Context) string {
	h := c.GetHeader("Content-Type")
	if t, _, err := mime.ParseMediaType(h); err == nil {
		return t
	}
	t, _, _ := strings.Cut(h, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// unsupportedType is the 415 for a Content-Type the route does not take; want lists what it takes.
func unsupportedType(c *gin.Context, want string) error {
	return models.Errorf(models.EMEDIATYPE, "Content-Type %s is not supported: send %s.", quoteHeader(mediaType(c)), want)
}

// quoteHeader shows a client's header value in a message: as is when it is a plain token, else
// quoted in ASCII; at most 100 bytes of it either way.
func quoteHeader(v string) string {
	const max = 100
	cut := len(v) > max
	if cut {
		v = v[:max]
	}
	plain := v != "" && !strings.ContainsFunc(v, func(r rune) bool {
		return r <= ' ' || r > '~' || r == '"' || r == '\\'
	})
	if !plain {
		v = strconv.QuoteToASCII(v)
	}
	if cut {
		v += "..."
	}
	return v
}

// gzipped tells whether the body is gzip-compressed: Content-Encoding gzip (or x-gzip, its old
// name); none or identity is a plain body, anything else a 415.
func gzipped(c *gin.Context) (bool, error) {
	gz := false
	for _, h := range c.Request.Header.Values("Content-Encoding") {
		for _, coding := range strings.Split(h, ",") {
			switch coding = strings.ToLower(strings.TrimSpace(coding)); coding {
			case "", "identity":
			case "gzip", "x-gzip":
				if gz {
					return false, models.Errorf(models.EMEDIATYPE, "Content-Encoding gzip may be applied once.")
				}
				gz = true
			default:
				return false, models.Errorf(models.EMEDIATYPE,
					"Content-Encoding %s is not supported: send the body plain or with Content-Encoding gzip.", quoteHeader(coding))
			}
		}
	}
	return gz, nil
}

// requestBody returns the request's body, decompressed when it is gzipped (see gzipped). Its read
// errors are *models.Error (400 invalid_request), so a client's broken upload is never taken for
// a database fault; an *http.MaxBytesError of the body stays in the chain.
func requestBody(c *gin.Context) (io.Reader, error) {
	return decodedBody(c, c.Request.Body)
}

// decodedBody is requestBody over raw (the request body, possibly limited).
func decodedBody(c *gin.Context, raw io.Reader) (io.Reader, error) {
	gz, err := gzipped(c)
	if err != nil {
		return nil, err
	}
	src := &sourceReader{r: raw}
	if !gz {
		return src, nil
	}
	return &gunzipReader{src: src}, nil
}

// orFailing is r, or a reader whose every read fails with err: requestBody for callers that read
// and handle read errors in one place, bufio.NewReader(orFailing(requestBody(c))).
func orFailing(r io.Reader, err error) io.Reader {
	if err != nil {
		return failingReader{err}
	}
	return r
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// errBodyUnreadable is the client-facing error of a body that could not be read.
var errBodyUnreadable = models.Errorf(models.EINVALID, "Could not read the request body.")

// sourceReader reads the request body, turning its read errors into errBodyUnreadable (joined
// with the cause).
type sourceReader struct {
	r   io.Reader
	err error // the last read error other than io.EOF, as read
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
		err = errors.Join(errBodyUnreadable, err)
	}
	return n, err
}

// gunzipReader decompresses src, starting at the first read (so making one reads nothing).
// Decompression errors are a 400 saying the body is not valid gzip.
type gunzipReader struct {
	src *sourceReader
	zr  *gzip.Reader
	err error
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		g.zr, g.err = gzip.NewReader(g.src)
		if g.err != nil {
			g.err = g.fault(g.err)
			return 0, g.err
		}
	}
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		g.err = g.fault(err)
		err = g.err
	}
	return n, err
}

// fault is the error to answer for err from the gzip reader: the body's own read error as
// sourceReader made it, or else invalid gzip data.
func (g *gunzipReader) fault(err error) error {
	if g.src.err != nil && errors.Is(err, g.src.err) {
		return err
	}
	if err == io.EOF { // not even a gzip header
		err = io.ErrUnexpectedEOF
	}
	return errors.Join(models.Errorf(models.EINVALID, "The request body is not valid gzip data (Content-Encoding: gzip)."), err)
}

// requireJSON answers 415 unless the request's body is JSON (or says no type).
func requireJSON(c *gin.Context) bool {
	if t := mediaType(c); t != typeJSON && t != "" {
		writeError(c, unsupportedType(c, typeJSON))
		return false
	}
	return true
}
