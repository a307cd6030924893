package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// GetObjects returns the objects among ids that repository repoID stores,
// read statBatch at a time: a clone reads thousands of objects, and one
// query per object was most of a cold clone's time.
func (o *ops) GetObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]gitobj.Object, error) {
	out := make(map[gitobj.ID]gitobj.Object, len(ids))
	err := o.eachObject(ctx, repoID, ids, func(id gitobj.ID, kind, size int, data []byte, z int) error {
		data, err := content(data, z, size)
		if err != nil {
			return fmt.Errorf("object %s: %w", id, err)
		}
		out[id] = gitobj.Object{Kind: gitobj.Kind(kind), Data: data}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get objects: %w", err)
	}
	return out, nil
}

func (o *ops) PackedObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]meta.PackedObject, error) {
	out := make(map[gitobj.ID]meta.PackedObject, len(ids))
	err := o.eachObject(ctx, repoID, ids, func(id gitobj.ID, kind, size int, data []byte, z int) error {
		p := meta.PackedObject{Kind: gitobj.Kind(kind), Size: size}
		if z == 1 {
			p.Zlib = data
		} else {
			p.Data = data
		}
		out[id] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packed objects: %w", err)
	}
	return out, nil
}

// eachObject calls fn with each stored object among ids, as stored.
func (o *ops) eachObject(ctx context.Context, repoID int64, ids []gitobj.ID, fn func(id gitobj.ID, kind, size int, data []byte, z int) error) error {
	for start := 0; start < len(ids); start += statBatch {
		chunk := ids[start:min(start+statBatch, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, repoID)
		ph := make([]string, len(chunk))
		for i := range chunk {
			args = append(args, chunk[i][:])
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := o.q.QueryContext(ctx, `SELECT oid, kind, size, data, zlib FROM objects WHERE repo_id = $1 AND oid IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var oid, data []byte
			var kind, size, z int
			if err := rows.Scan(&oid, &kind, &size, &data, &z); err != nil {
				rows.Close()
				return err
			}
			var id gitobj.ID
			if len(oid) != len(id) {
				rows.Close()
				return fmt.Errorf("object id of %d bytes", len(oid))
			}
			copy(id[:], oid)
			if err := fn(id, kind, size, data, z); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
