package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
)

// GetObjects returns the objects among ids that repository repoID stores,
// read statBatch at a time: a clone reads thousands of objects, and one
// query per object was most of a cold clone's time.
func (o *ops) GetObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]gitobj.Object, error) {
	out := make(map[gitobj.ID]gitobj.Object, len(ids))
	for start := 0; start < len(ids); start += statBatch {
		chunk := ids[start:min(start+statBatch, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, repoID)
		ph := make([]string, len(chunk))
		for i := range chunk {
			args = append(args, chunk[i][:])
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := o.q.QueryContext(ctx, `SELECT oid, kind, data FROM objects WHERE repo_id = $1 AND oid IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("get objects: %w", err)
		}
		for rows.Next() {
			var oid []byte
			var kind int
			var data []byte
			if err := rows.Scan(&oid, &kind, &data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("get objects: %w", err)
			}
			var id gitobj.ID
			if len(oid) != len(id) {
				rows.Close()
				return nil, fmt.Errorf("get objects: object id of %d bytes", len(oid))
			}
			copy(id[:], oid)
			out[id] = gitobj.Object{Kind: gitobj.Kind(kind), Data: data}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("get objects: %w", err)
		}
	}
	return out, nil
}
