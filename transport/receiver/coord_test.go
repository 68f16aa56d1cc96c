package receiver_test

import (
	"testing"

	"giascan/transport/receiver"
	"giascan/transport/receiver/coordtest"
)

func TestMemoryCoordinator(t *testing.T) {
	coordtest.Run(t, func(t *testing.T) receiver.Coordinator { return receiver.NewMemoryCoordinator() })
}
