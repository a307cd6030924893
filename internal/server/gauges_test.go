package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestGaugesExported: figures registered by other packages appear on
// /metrics with their current values.
func TestGaugesExported(t *testing.T) {
	s, err := New(testLogger(t), Config{}, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := 1.0
	s.GaugeFunc("agora_test_gauge", "A test gauge.", func() float64 { return v })
	observe := s.Histogram("agora_test_seconds", "A test histogram.", []float64{.1, 1})
	add := s.Counter("agora_test_total", "A test counter.")
	v = 42
	observe(.5)
	add(3)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{"agora_test_gauge 42", `agora_test_seconds_bucket{le="1"} 1`, "agora_test_seconds_count 1", "agora_test_total 3"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
