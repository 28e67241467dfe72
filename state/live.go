package state

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/go-multierror"
)

// TakenAddresses asks live, for each address, who holds it, at most
// parallelism questions at once, and returns the addresses held by a user who
// is not a persona, sorted. Every failed question is reported.
func TakenAddresses(ctx context.Context, live Live, emails []string, parallelism int) ([]string, error) {
	var (
		mu    sync.Mutex
		taken []string
		errs  error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, max(1, parallelism))
	for _, e := range emails {
		wg.Add(1)
		sem <- struct{}{}
		go func(email string) {
			defer wg.Done()
			defer func() { <-sem }()
			owner, err := live.AddressOwner(ctx, email)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = multierror.Append(errs, fmt.Errorf("checking who holds %s: %w", email, err))
			case owner == AddressTaken:
				taken = append(taken, email)
			}
		}(e)
	}
	wg.Wait()
	sort.Strings(taken)
	return taken, errs
}
