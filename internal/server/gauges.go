package server

import "github.com/prometheus/client_golang/prometheus"

// GaugeFunc exports the value fn returns, read at each scrape, as a
// gauge: for figures other packages keep (the listing index's size and
// lag) without their importing Prometheus.
func (s *Server) GaugeFunc(name, help string, fn func() float64) {
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Histogram registers a histogram and returns the function that records
// an observation in it.
func (s *Server) Histogram(name, help string, buckets []float64) func(float64) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	s.reg.MustRegister(h)
	return h.Observe
}

// Counter registers a counter and returns the function that adds to it.
func (s *Server) Counter(name, help string) func(float64) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	s.reg.MustRegister(c)
	return c.Add
}
