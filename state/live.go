package state

import (
	"context"
	"fmt"
	"sync"
)

// Holders asks live, for each address, who holds it, at most parallelism
// questions at once. Every failed question is reported, and its address is
// left out of the answer.
func Holders(ctx context.Context, live Live, emails []string, parallelism int) (map[string]Holder, error) {
	var (
		mu   sync.Mutex
		out  = make(map[string]Holder, len(emails))
		errs []error
		wg   sync.WaitGroup
	)
	ask := func(ctx context.Context, email string) (Holder, error) {
		if hl, ok := live.(HolderLive); ok {
			return hl.AddressHolder(ctx, email)
		}
		owner, err := live.AddressOwner(ctx, email)
		return Holder{Owner: owner}, err
	}
	sem := make(chan struct{}, max(1, parallelism))
	for _, e := range emails {
		wg.Add(1)
		sem <- struct{}{}
		go func(email string) {
			defer wg.Done()
			defer func() { <-sem }()
			var h Holder
			var err error
			func() {
				defer Recover(&err)
				h, err = ask(ctx, email)
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("checking who holds %s: %w", email, err))
				return
			}
			out[email] = h
		}(e)
	}
	wg.Wait()
	return out, Errors(errs...)
}
