package validation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// validCases are tricky inputs for validJSON; each must be judged exactly as json.Valid judges it.
var validCases = []string{
	// Empty input and white space.
	``, ` `, "\t\n\r ", "\v1", "\f1", "\u00a01", "\xef\xbb\xbf{}", " 1 ", "\n[\r]\t", "1\x00",
	// Literals.
	`true`, `false`, `null`, `tru`, `nul`, `fals`, `True`, `NULL`, `truee`, `nulll`, `true false`,
	`[true,false,null]`, `[tru]`, `{"a":nul}`,
	// Numbers.
	`0`, `-0`, `1`, `-1`, `10`, `01`, `-01`, `00`, `-`, `+1`, `.5`, `1.`, `1.5`, `1.50`, `-1.5`,
	`1e5`, `1E5`, `1e+5`, `1e-5`, `1e`, `1e+`, `1e-`, `1.e5`, `1.5e05`, `0e0`, `-0.0e-0`, `1e5.5`,
	`1.5.5`, `0x10`, `Infinity`, `NaN`, `-Infinity`, `1_000`, `12345678901234567890123456789`,
	`1 2`, `[1 2]`, `[01]`, `[-]`, `[1.]`, `{"a":1.}`, `[1e]`, `[-0]`, `[1,-]`, `1-`, `1+`,
	// Strings.
	`""`, `"a"`, `"`, `"a`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\x41"`, `"\'"`,
	`"\u0041"`, `"\u00e9"`, `"\uD800"`, `"\uDFFF\uD800"`, `"\uABCDEF"`, `"\uabcg"`, `"\u12"`,
	`"\u"`, `"\U0041"`, `"\`, `"\u004`, "\"\x00\"", "\"\x1f\"", "\"\x20\"", "\"\x7f\"", "\"\t\"",
	"\"\n\"", "\"\xff\xfe\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"é€😀\"",
	`'a'`, `"a" "b"`, `"a"b`, `"abcdefghijklmnop\"qrstuvwxyz"`, `"abcdefgh\\"`, `"abcdefgh\\\"`,
	// Arrays.
	`[]`, `[ ]`, `[`, `]`, `[[]]`, `[[]`, `[]]`, `[1,]`, `[,1]`, `[,]`, `[1,,2]`, `[1;2]`,
	`[1,2,3]`, `[ 1 , 2 ]`, `[}`, `[1}`, `[[],{},""]`, `[]{}`, `[] []`, `[1]x`,
	// Objects.
	`{}`, `{ }`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`,
	`{a:1}`, `{'a':1}`, `{1:1}`, `{null:1}`, `{"a":1]`, `{"a":{"b":[{"c":null}]}}`, `{"":""}`,
	`{"a":1,"a":2}`, `{ "a" : 1 , "b" : [ ] }`, `{"a":1}}`, `{"a":1}{`, `{"a"::1}`, `{:1}`,
	`{"a":1,,"b":2}`, `{"a",1}`, `{"a":[}`, `{"\u0069d":"x"}`, `{"a\":1}`,
	// Nesting.
	strings.Repeat("[", 100) + strings.Repeat("]", 100),
	strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100),
	strings.Repeat("[", maxNestingDepth) + strings.Repeat("]", maxNestingDepth),
	strings.Repeat("[", maxNestingDepth+1) + strings.Repeat("]", maxNestingDepth+1),
	strings.Repeat("[", maxNestingDepth-1) + "{}" + strings.Repeat("]", maxNestingDepth-1),
	strings.Repeat("[", maxNestingDepth) + "{}" + strings.Repeat("]", maxNestingDepth),
	strings.Repeat("[", maxNestingDepth+1),
	strings.Repeat(`{"a":[`, maxNestingDepth/2) + strings.Repeat("]}", maxNestingDepth/2),
	strings.Repeat(`{"a":[`, maxNestingDepth/2) + "0" + strings.Repeat("]}", maxNestingDepth/2),
	strings.Repeat(`{"a":[`, maxNestingDepth/2) + "[]" + strings.Repeat("]}", maxNestingDepth/2),
	strings.Repeat("[", 70) + strings.Repeat("]", 69),
}

func TestValidJSON(t *testing.T) {
	t.Parallel()
	cases := append(append(validCases, decodeSeeds...), string(invoiceBody(100)))
	for _, c := range cases {
		want := json.Valid([]byte(c))
		if got := validJSON([]byte(c)); got != want {
			t.Errorf("validJSON(%.80q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// TestValidJSONAllocs checks that a body of ordinary depth is validated without allocating.
func TestValidJSONAllocs(t *testing.T) {
	body := invoiceBody(100)
	if n := testing.AllocsPerRun(10, func() { validJSON(body) }); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// FuzzValidJSON is the differential test that lets validJSON stand in for json.Valid: on every
// input the two must agree.
func FuzzValidJSON(f *testing.F) {
	for _, c := range append(validCases, decodeSeeds...) {
		f.Add([]byte(c))
	}
	f.Add(invoiceBody(3))
	// The other fuzz target's seeds and saved inputs are good JSON-ish seeds too.
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeAndParse", "*"))
	for _, file := range files {
		if seed, ok := readFuzzSeed(f, file); ok {
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// readFuzzSeed reads a one-value []byte file of the "go test fuzz v1" corpus format.
func readFuzzSeed(f *testing.F, file string) ([]byte, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, false
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, false
	}
	return []byte(s), true
}

func BenchmarkValidJSON(b *testing.B) {
	body := invoiceBody(1000)
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !validJSON(body) {
				b.Fatal("invalid")
			}
		}
	})
}
