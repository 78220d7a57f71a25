package keyring

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentmcp/agentmcp/store"
)

// RotateResult says what a rotation did.
type RotateResult struct {
	DataKey  string // the new data key
	Resealed int
	Dropped  []string // data keys removed, nothing being sealed under them any more
}

// Rotate re-seals every credential, OAuth token set and OAuth authorization in flight
// under a new data key wrapped by to's keeper (and by from's, so replicas still started
// with the old keeper open the new key too) and drops the data keys nothing is sealed
// under any more. Writes that land during the rotation under an old key (a renewal on a
// replica that has not reloaded the keys yet) are picked up by the next round; a renewal
// that wrote new tokens first wins over the re-seal of the old ones (Reseal's version).
func Rotate(ctx context.Context, from, to *Ring) (RotateResult, error) {
	var res RotateResult
	id, err := to.NewDataKey(ctx, from)
	if err != nil {
		return res, err
	}
	res.DataKey = id
	if err := from.reload(ctx); err != nil {
		return res, err
	}
	for round := 0; ; round++ {
		counts, err := from.st.CountSealed(ctx)
		if err != nil {
			return res, err
		}
		left := 0
		for keyID, n := range counts {
			if keyID == id || n == 0 {
				continue
			}
			left += n
			refs, err := from.st.ListSealed(ctx, keyID, 100)
			if err != nil {
				return res, err
			}
			for _, ref := range refs {
				name := store.SealName(ref.Kind, ref.Slug)
				plain, err := from.Open(ctx, ref.AppID, name, ref.Sealed)
				if err != nil {
					return res, err
				}
				s, err := to.Seal(ctx, ref.AppID, name, plain)
				if err != nil {
					return res, err
				}
				ok, err := from.st.Reseal(ctx, ref, s)
				if err != nil {
					return res, err
				}
				if ok {
					res.Resealed++
				}
			}
		}
		if left == 0 {
			break
		}
		if round > 1000 {
			return res, fmt.Errorf("rotation: %d values are still sealed under old keys", left)
		}
	}
	dks, err := from.st.ListDataKeys(ctx)
	if err != nil {
		return res, err
	}
	counts, err := from.st.CountSealed(ctx)
	if err != nil {
		return res, err
	}
	for _, dk := range dks {
		if dk.ID != id && counts[dk.ID] == 0 {
			if err := from.st.DeleteDataKey(ctx, dk.ID); errors.Is(err, store.ErrConflict) {
				continue // a value was sealed under it since it was counted: the next rotation moves it
			} else if err != nil {
				return res, err
			}
			res.Dropped = append(res.Dropped, dk.ID)
		}
	}
	return res, nil
}

// Finish removes every wrap not made by r's keeper: once every replica runs with the new
// keeper, the old one can no longer open anything.
func Finish(ctx context.Context, r *Ring) (int, error) {
	if r.keeper == nil {
		return 0, ErrNoKeeper
	}
	dks, err := r.st.ListDataKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, dk := range dks {
		if _, ok := dk.Wraps[r.keeperID]; !ok {
			return n, fmt.Errorf("data key %s has no wrap by the keeper %s: rotate to it first", dk.ID, r.hint)
		}
		if len(dk.Wraps) > 1 {
			if err := r.st.DeleteDataKeyWraps(ctx, dk.ID, r.keeperID); err != nil {
				return n, err
			}
			n += len(dk.Wraps) - 1
		}
	}
	return n, nil
}
