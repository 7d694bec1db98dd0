//! A geotile grid with each tile's centroid, in one pass over the points.
//!
//! Kibana's map asks for `geotile_grid` with a `geo_centroid` under it. As a grouped query
//! that was a tile key per row (a function call), a hash table of keys, and three running
//! aggregates (two averages and a count) per row: 230 ms at 10M events. GeoIP points repeat
//! (one per city), so here rows are counted per point, and only each point met is placed in
//! its tile. A row costs a hash of its point and a count in a small direct-mapped memo; a point
//! pushed out of its memo slot hands its count on to a map of all points, and points go to
//! their tiles (a tangent, a cosine and a logarithm each) when the state is read.
//!
//! [`geotile_cells`] returns every tile with its number of points and the sums of their
//! latitudes and longitudes.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StructArray, UInt64Array};
use arrow::datatypes::{DataType, FieldRef, Fields, Float64Type, Int64Type, UInt64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use datafusion::prelude::{Expr, cast};

use crate::udf::{pack_tile, tile_of};
use crate::viewfold::{internal, list_field, one_row_list, state_fields, struct_state};

/// One tile: its packed key ([`pack_tile`]), points, and sums of their coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    pub(crate) key: i64,
    pub(crate) points: u64,
    pub(crate) lat_sum: f64,
    pub(crate) lon_sum: f64,
}

fn cells_fields() -> Fields {
    Fields::from(vec![
        list_field("keys", DataType::Int64),
        list_field("points", DataType::UInt64),
        list_field("lat_sums", DataType::Float64),
        list_field("lon_sums", DataType::Float64),
    ])
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GeotileCells {
    zoom: u8,
    signature: Signature,
}

impl AggregateUDFImpl for GeotileCells {
    fn name(&self) -> &str {
        GEOTILE_CELLS
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(cells_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(&args, &cells_fields()))
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CellsAccumulator::new(u32::from(self.zoom))))
    }
}

/// A point as the bits of its latitude and longitude.
type Point = (u64, u64);

/// Stands for a row without a point: a NaN that no GeoIP database gives.
const NO_POINT: Point = (u64::MAX, u64::MAX);

/// Memo slots: 4,096, small enough to stay in cache.
const MEMO_BITS: u32 = 12;
const MEMO: usize = 1 << MEMO_BITS;

/// Points tallied in the map before they are placed in their tiles (about 8 MB).
const POINTS_KEPT: usize = 1 << 18;

#[derive(Debug)]
struct CellsAccumulator {
    zoom: u32,
    cells: Vec<Cell>,
    slot_of: FastMap<i64, usize>,
    /// Rows of the points pushed out of the memo and not yet placed in `cells`.
    tallies: FastMap<Point, u64>,
    /// The point each memo slot counts, and its rows so far. Fixed-size, so the slot a hash
    /// gives needs no bounds check.
    memo_points: Box<[Point; MEMO]>,
    memo_rows: Box<[u64; MEMO]>,
}

type FastMap<K, V> = datafusion::common::HashMap<K, V>;

impl CellsAccumulator {
    fn new(zoom: u32) -> Self {
        CellsAccumulator {
            zoom,
            cells: Vec::new(),
            slot_of: FastMap::default(),
            tallies: FastMap::default(),
            memo_points: Box::new([NO_POINT; MEMO]),
            memo_rows: Box::new([0; MEMO]),
        }
    }

    fn slot(&mut self, key: i64) -> usize {
        let cells = &mut self.cells;
        *self.slot_of.entry(key).or_insert_with(|| {
            cells.push(Cell {
                key,
                points: 0,
                lat_sum: 0.0,
                lon_sum: 0.0,
            });
            cells.len() - 1
        })
    }

    /// One more row of `point`, counted in its memo slot: the map is only touched when the
    /// slot held another point.
    #[inline]
    fn add_row(&mut self, point: Point) {
        let (a, b) = point;
        let h = ((a ^ b.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - MEMO_BITS)) as usize;
        if self.memo_points[h] != point {
            self.evict(h, point);
        }
        self.memo_rows[h] += 1;
    }

    /// Gives memo slot `h` to `point`, its former point's rows going to the map.
    #[cold]
    #[inline(never)]
    fn evict(&mut self, h: usize, point: Point) {
        let rows = std::mem::take(&mut self.memo_rows[h]);
        let gone = std::mem::replace(&mut self.memo_points[h], point);
        if rows > 0 && gone != NO_POINT {
            *self.tallies.entry(gone).or_default() += rows;
            // GeoIP has a point per city; other points may all differ.
            if self.tallies.len() >= POINTS_KEPT {
                self.place_tallies();
            }
        }
    }

    /// Puts the map's points in their tiles. A point's share of a tile's sums is its rows
    /// times its coordinates.
    fn place_tallies(&mut self) {
        let mut tallies = std::mem::take(&mut self.tallies);
        for ((a, b), rows) in tallies.drain() {
            let (lat, lon) = (f64::from_bits(a), f64::from_bits(b));
            let slot = self.slot(pack_tile(self.zoom, tile_of(lat, lon, self.zoom)));
            let c = &mut self.cells[slot];
            c.points += rows;
            c.lat_sum += rows as f64 * lat;
            c.lon_sum += rows as f64 * lon;
        }
        self.tallies = tallies;
    }

    /// Every row counted so far placed in its tile.
    fn place_all(&mut self) {
        for h in 0..MEMO {
            self.evict(h, NO_POINT);
        }
        self.place_tallies();
    }

    fn add_cell(&mut self, cell: Cell) {
        let slot = self.slot(cell.key);
        let c = &mut self.cells[slot];
        c.points += cell.points;
        c.lat_sum += cell.lat_sum;
        c.lon_sum += cell.lon_sum;
    }

    /// Every tile so far (each row placed first), as the struct [`read_cells`] reads.
    fn placed_cells(&mut self) -> StructArray {
        self.place_all();
        let keys = Int64Array::from_iter_values(self.cells.iter().map(|c| c.key));
        let points = UInt64Array::from_iter_values(self.cells.iter().map(|c| c.points));
        let lats = Float64Array::from_iter_values(self.cells.iter().map(|c| c.lat_sum));
        let lons = Float64Array::from_iter_values(self.cells.iter().map(|c| c.lon_sum));
        StructArray::new(
            cells_fields(),
            vec![
                one_row_list(Arc::new(keys), DataType::Int64),
                one_row_list(Arc::new(points), DataType::UInt64),
                one_row_list(Arc::new(lats), DataType::Float64),
                one_row_list(Arc::new(lons), DataType::Float64),
            ],
            None,
        )
    }
}

const GEOTILE_CELLS: &str = "trailscope_geotile_cells";

impl Accumulator for CellsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [lat, lon] = values else {
            return Err(internal(GEOTILE_CELLS, "takes a latitude and a longitude"));
        };
        // [`geotile_cells`] casts both to floats.
        let (Some(lat), Some(lon)) = (
            lat.as_primitive_opt::<Float64Type>(),
            lon.as_primitive_opt::<Float64Type>(),
        ) else {
            return Err(internal(GEOTILE_CELLS, "takes floats"));
        };
        let (ys, xs) = (lat.values(), lon.values());
        // A point needs both coordinates, as in the grouped query (whose key is then null).
        match arrow::buffer::NullBuffer::union(lat.nulls(), lon.nulls()) {
            None => {
                for (&y, &x) in ys.iter().zip(xs.iter()) {
                    self.add_row((y.to_bits(), x.to_bits()));
                }
            }
            Some(valid) => {
                // A null row counts for NO_POINT, chosen without a branch: GeoIP leaves a
                // fifth of the rows null (AWS's own callers), scattered, which a branch per
                // row mispredicts.
                let words = valid.inner().bit_chunks();
                let words = words.iter().chain(std::iter::once(words.remainder_bits()));
                for (word, (ys, xs)) in words.zip(ys.chunks(64).zip(xs.chunks(64))) {
                    for (i, (&y, &x)) in ys.iter().zip(xs.iter()).enumerate() {
                        let null = ((word >> i) & 1).wrapping_sub(1);
                        self.add_row((y.to_bits() | null, x.to_bits() | null));
                    }
                }
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [keys, points, lats, lons] = states else {
            return Err(internal(GEOTILE_CELLS, "a state has four parts"));
        };
        for row in 0..keys.len() {
            let (k, p, y, x) = (
                keys.as_list::<i32>().value(row),
                points.as_list::<i32>().value(row),
                lats.as_list::<i32>().value(row),
                lons.as_list::<i32>().value(row),
            );
            let (k, p) = (k.as_primitive::<Int64Type>(), p.as_primitive::<UInt64Type>());
            let (y, x) = (y.as_primitive::<Float64Type>(), x.as_primitive::<Float64Type>());
            for i in 0..k.len() {
                self.add_cell(Cell {
                    key: k.value(i),
                    points: p.value(i),
                    lat_sum: y.value(i),
                    lon_sum: x.value(i),
                });
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        struct_state(&self.placed_cells())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Struct(Arc::new(self.placed_cells())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.cells.capacity() * std::mem::size_of::<Cell>()
            + self.slot_of.capacity() * 17
            + self.tallies.capacity() * 25
            + MEMO * (std::mem::size_of::<Point>() + 8)
    }
}

/// Every tile at `zoom` holding points of (`lat`, `lon`), with its number of points and the
/// sums of their coordinates: a struct [`read_cells`] reads.
pub(crate) fn geotile_cells(lat: Expr, lon: Expr, zoom: u8) -> Expr {
    let udaf = AggregateUDF::from(GeotileCells {
        zoom,
        signature: Signature::any(2, Volatility::Immutable),
    });
    udaf.call(vec![cast(lat, DataType::Float64), cast(lon, DataType::Float64)])
}

/// The cells of a [`geotile_cells`] result.
pub(crate) fn read_cells(a: &dyn Array, row: usize) -> Option<Vec<Cell>> {
    let s = a.as_struct_opt()?;
    if s.is_null(row) {
        return Some(Vec::new());
    }
    let list = |i: usize| s.column(i).as_list_opt::<i32>().map(|l| l.value(row));
    let (k, p, y, x) = (list(0)?, list(1)?, list(2)?, list(3)?);
    let (k, p) = (k.as_primitive_opt::<Int64Type>()?, p.as_primitive_opt::<UInt64Type>()?);
    let (y, x) = (
        y.as_primitive_opt::<Float64Type>()?,
        x.as_primitive_opt::<Float64Type>()?,
    );
    Some(
        (0..k.len())
            .map(|i| Cell {
                key: k.value(i),
                points: p.value(i),
                lat_sum: y.value(i),
                lon_sum: x.value(i),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// `n` points of `places` places. With `gaps`, some rows miss their latitude and the
    /// arrays are sliced, so their validity starts inside a byte; without, there is no validity.
    fn batch(seed: u64, n: usize, places: u64, gaps: bool) -> (ArrayRef, ArrayRef) {
        let mut x = seed;
        let mut lat = Vec::with_capacity(n);
        let mut lon = Vec::with_capacity(n);
        for _ in 0..n + 3 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let place = (x >> 24) % places;
            let missing = gaps && (x >> 20).is_multiple_of(17);
            lat.push((!missing).then(|| -80.0 + (place % 397) as f64 * 0.4 + (place / 397) as f64 * 1e-4));
            lon.push(-179.0 + (place as f64 * 7.3) % 358.0);
        }
        if gaps {
            let (lat, lon) = (Float64Array::from(lat), Float64Array::from(lon));
            (Arc::new(lat.slice(3, n)), Arc::new(lon.slice(3, n)))
        } else {
            let lat: Vec<f64> = lat.into_iter().flatten().take(n).collect();
            lon.truncate(n);
            (Arc::new(Float64Array::from(lat)), Arc::new(Float64Array::from(lon)))
        }
    }

    /// Runs each part's batches through an accumulator of its own, merges their states, and
    /// compares the tiles with a count of the rows one by one.
    fn cells_equal_a_direct_count(zoom: u32, parts: Vec<Vec<(ArrayRef, ArrayRef)>>) {
        let mut expected: HashMap<i64, (u64, f64, f64)> = HashMap::new();
        let mut states = Vec::new();
        for part in parts {
            let mut acc = CellsAccumulator::new(zoom);
            for (lat, lon) in part {
                let (y, x) = (lat.as_primitive::<Float64Type>(), lon.as_primitive::<Float64Type>());
                for i in 0..y.len() {
                    if y.is_valid(i) && x.is_valid(i) {
                        let (y, x) = (y.value(i), x.value(i));
                        let e = expected.entry(pack_tile(zoom, tile_of(y, x, zoom))).or_default();
                        *e = (e.0 + 1, e.1 + y, e.2 + x);
                    }
                }
                acc.update_batch(&[lat, lon]).unwrap_or_else(|e| panic!("{e}"));
            }
            states.push(acc.state().unwrap_or_else(|e| panic!("{e}")));
        }
        let mut merged = CellsAccumulator::new(zoom);
        let arrays: Vec<ArrayRef> = (0..4)
            .map(|i| ScalarValue::iter_to_array(states.iter().map(|s| s[i].clone())).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        merged.merge_batch(&arrays).unwrap_or_else(|e| panic!("{e}"));
        let out = merged.evaluate().unwrap_or_else(|e| panic!("{e}"));
        let out = out.to_array().unwrap_or_else(|e| panic!("{e}"));
        let cells = read_cells(out.as_ref(), 0).unwrap_or_else(|| panic!("a cells struct"));
        assert_eq!(cells.len(), expected.len());
        for c in cells {
            let (n, y, x) = expected[&c.key];
            assert_eq!(c.points, n, "tile {}", crate::udf::tile_key(c.key));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (n as f64) * b.abs().max(1.0);
            assert!(
                close(c.lat_sum, y) && close(c.lon_sum, x),
                "tile {}",
                crate::udf::tile_key(c.key)
            );
        }
    }

    #[test]
    fn cells_of_a_few_hundred_places_across_batches_merges_and_gaps() {
        let parts = (0..2u64)
            .map(|part| (0..4).map(|b| batch(part * 10 + b, 5000, 397, b % 2 == 0)).collect())
            .collect();
        cells_equal_a_direct_count(5, parts);
    }

    #[test]
    fn cells_of_more_places_than_the_map_keeps() {
        // Every place a few times: the memo keeps pushing points out, and the map of points
        // is placed in tiles and emptied on the way.
        let places = POINTS_KEPT as u64 + 40_000;
        let part = (0..3)
            .map(|b| batch(b, 2 * places as usize / 3, places, b == 1))
            .collect();
        cells_equal_a_direct_count(7, vec![part]);
    }
}
