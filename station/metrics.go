package station

import (
	"github.com/prometheus/client_golang/prometheus"

	"giascan/station/store"
	"giascan/transport/upload"
)

// Metrics for Prometheus, read from the data folder at each scrape, so
// they survive restarts and agree with what the board shows.
var (
	descPages     = prometheus.NewDesc("giascan_pages_stored", "Active scanned pages in the store.", nil, nil)
	descReview    = prometheus.NewDesc("giascan_review_queue_pages", "Pages waiting for a person to check recognised values.", nil, nil)
	descUnread    = prometheus.NewDesc("giascan_pages_unrecognised", "Stored pages not recognised yet.", nil, nil)
	descRecognize = prometheus.NewDesc("giascan_recognition_seconds", "Time recognition took per stored page.", nil, nil)
	descPackages  = prometheus.NewDesc("giascan_packages", "Package versions by state: sealed (in the outbox), queued, delivered (receipt verified), refused.", []string{"state"}, nil)
	descWire      = prometheus.NewDesc("giascan_upload_bytes_sent_total", "Bytes put on the wire to the РЦОИ, all attempts.", nil, nil)
	descRetries   = prometheus.NewDesc("giascan_upload_retries_total", "Upload attempts beyond the first, all packages.", nil, nil)
	descUp        = prometheus.NewDesc("giascan_service_up", "1 while a service of the daemon runs, 0 while it waits to be restarted.", []string{"service"}, nil)
	descRestarts  = prometheus.NewDesc("giascan_service_restarts_total", "Times a service of the daemon failed and was restarted.", []string{"service"}, nil)
)

var recognizeBuckets = []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}

// Collector returns the station's metrics for a Prometheus registry.
func (s *Station) Collector() prometheus.Collector { return stationCollector{s} }

type stationCollector struct{ s *Station }

func (c stationCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPages, descReview, descUnread, descRecognize, descPackages, descWire, descRetries, descUp, descRestarts} {
		ch <- d
	}
}

func (c stationCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	var pages, review, unread int
	var count uint64
	var sum float64
	buckets := map[float64]uint64{}
	err := s.Store.EachActive(func(p store.Page) {
		pages++
		if p.Result == nil {
			unread++
			return
		}
		if p.Result.NeedsReview {
			review++
		}
		sec := p.Result.Ms / 1000
		count++
		sum += sec
		for _, b := range recognizeBuckets {
			if sec <= b {
				buckets[b]++
			}
		}
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descPages, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descPages, prometheus.GaugeValue, float64(pages))
	ch <- prometheus.MustNewConstMetric(descReview, prometheus.GaugeValue, float64(review))
	ch <- prometheus.MustNewConstMetric(descUnread, prometheus.GaugeValue, float64(unread))
	ch <- prometheus.MustNewConstHistogram(descRecognize, count, sum, buckets)

	sealed := 0
	if life, err := s.Life(); err == nil {
		for _, p := range life {
			for _, a := range p.Auditoriums {
				if a.Package != nil {
					sealed++
				}
			}
			if p.Closing != nil {
				sealed++
			}
		}
	}
	states := map[upload.State]int{}
	var wire int64
	retries := 0
	if items, err := s.uploadItems(); err == nil {
		for _, it := range items {
			states[it.State]++
			wire += it.BytesSent
			retries += max(it.Attempts-1, 0)
		}
	}
	ch <- prometheus.MustNewConstMetric(descPackages, prometheus.GaugeValue, float64(sealed), "sealed")
	for _, st := range []upload.State{upload.Queued, upload.Delivered, upload.Refused} {
		ch <- prometheus.MustNewConstMetric(descPackages, prometheus.GaugeValue, float64(states[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(descWire, prometheus.CounterValue, float64(wire))
	ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(retries))
	for _, sv := range s.Services() {
		up := 0.0
		if sv.Running {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, sv.Name)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(sv.Restarts), sv.Name)
	}
}
