"""The HLO reader: kinds, replica groups, operand bytes, loop counts, ring bytes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
from jax.sharding import PartitionSpec as P

from simlib.engine import collectives, make_mesh, request_devices, ring_bytes_sent
from simlib.engine.comms import shape_bytes

MODULE = """\
HloModule jit_step, num_partitions=8

%add (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %s = f32[] add(%a, %b)
}

%body (p: (s32[], f32[16])) -> (s32[], f32[16]) {
  %p = (s32[], f32[16]{0}) parameter(0)
  %v = f32[16]{0} get-tuple-element(%p), index=1
  %ag = f32[64]{0} all-gather(%v), channel_id=2, replica_groups=[2,4]<=[8], dimensions={0}
  %rs = f32[4]{0} reduce-scatter(%v), channel_id=3, replica_groups={{0,1,2,3},{4,5,6,7}}, dimensions={0}, to_apply=%add
  %cp = f32[16]{0} collective-permute(%v), channel_id=4, source_target_pairs={{0,1},{1,2},{2,3},{3,0}}
  ROOT %t = (s32[], f32[16]{0}) tuple(%i, %cp)
}

%cond (p: (s32[], f32[16])) -> pred[] {
  %p = (s32[], f32[16]{0}) parameter(0)
  ROOT %lt = pred[] compare(%i, %n), direction=LT
}

ENTRY %main (x: f32[16], w: bf16[8,4]) -> f32[16] {
  %x = f32[16]{0} parameter(0)
  %w = bf16[8,4]{1,0} parameter(1)
  %ar = (f32[16]{0}, bf16[8,4]{1,0}) all-reduce(%x, %w), channel_id=1, replica_groups=mesh['data'=8,'model'=1] {'data'}, to_apply=%add
  %ars = f32[16]{0} all-reduce-start(%x), channel_id=5, replica_groups={}, to_apply=%add
  %ard = f32[16]{0} all-reduce-done(%ars)
  %w0 = (s32[], f32[16]{0}) while(%init), condition=%cond, body=%body, backend_config={"known_trip_count":{"n":"3"}}
  ROOT %r = f32[16]{0} get-tuple-element(%w0), index=1
}
"""


def test_reads_every_kind_group_and_loop_count_from_a_hand_written_module():
    found = {c.name: c for c in collectives(MODULE)}
    assert set(found) == {"ar", "ars", "ag", "rs", "cp"}
    ar = found["ar"]
    assert (ar.kind, ar.operand_bytes, ar.group_size, ar.num_groups, ar.count) == (
        "all-reduce", 16 * 4 + 8 * 4 * 2, 8, 1, 1
    )
    assert ar.operand_shapes == ("f32[16]", "bf16[8,4]")
    ars = found["ars"]  # async start counted once; empty groups mean all 8 devices
    assert (ars.kind, ars.operand_bytes, ars.group_size, ars.count) == ("all-reduce", 64, 8, 1)
    ag = found["ag"]  # the operand is the shard; iota groups [2,4] = 2 groups of 4
    assert (ag.kind, ag.operand_bytes, ag.group_size, ag.num_groups, ag.count) == (
        "all-gather", 64, 4, 2, 3
    )
    assert (found["rs"].group_size, found["rs"].num_groups, found["rs"].count) == (4, 2, 3)
    assert (found["cp"].kind, found["cp"].group_size, found["cp"].count) == (
        "collective-permute", 4, 3
    )
    assert found["ag"].total_operand_bytes == 3 * 64


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("all-reduce", 2 * 3 / 4 * 1000),
        ("all-gather", 3 * 1000),
        ("reduce-scatter", 3 / 4 * 1000),
        ("all-to-all", 3 / 4 * 1000),
        ("collective-permute", 1000),
    ],
)
def test_ring_bytes_sent_per_device(kind, expected):
    assert ring_bytes_sent(kind, 1000, 4) == pytest.approx(expected)
    assert ring_bytes_sent(kind, 1000, 1) == 0.0


def test_shape_bytes():
    assert shape_bytes("(f32[4,16]{1,0}, f32[], bf16[3])") == 4 * 64 + 4 + 6
    assert shape_bytes("pred[7]") == 7


def test_reads_a_real_all_gather_inside_a_scan():
    """A psum inside lax.scan over 5 steps appears once in the text but runs 5 times."""
    mesh = make_mesh(request_devices(8)[:4], ("x",))

    def per_device(v):  # v[2] per device
        def body(carry, _):
            return jax.lax.psum(carry, "x") / 4 + v, None  # depends on the carry: stays in the loop

        total, _ = jax.lax.scan(body, jnp.zeros_like(v), None, length=5)
        gathered = jax.lax.all_gather(v, "x", tiled=True)  # [8]
        return total + gathered[:2]

    f = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=P("x"), out_specs=P("x")))
    text = f.lower(jnp.ones(8)).compile().as_text()
    kinds = {c.kind: c for c in collectives(text)}
    assert kinds["all-reduce"].count == 5 and kinds["all-reduce"].operand_bytes == 8
    assert kinds["all-gather"].count == 1 and kinds["all-gather"].group_size == 4
    assert kinds["all-gather"].operand_bytes == 8  # the 2-float shard each device puts in
