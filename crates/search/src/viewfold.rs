//! Aggregations over text that meet each distinct value once per column chunk.
//!
//! Text is read from Parquet as string views, and the rows of a dictionary-encoded page that
//! hold one value all carry the same 16-byte view: same length, same prefix, same buffer and
//! offset into the dictionary page. Grouping by the text hashed and compared every row's
//! bytes, two thirds of a top-10 `eventname` at 10M events (perf). These aggregations first
//! look rows up by their views, a 16-byte integer, and look at a view's text only the first
//! time it is met ([`ViewMemo`]). Different views may still hold equal text (another page,
//! or a page without a dictionary): they are merged by text, so the results never depend on
//! the encoding.
//!
//! - [`term_counts`]: the `terms` aggregation without sub-metrics: every term of a column
//!   counted, then cut to the terms asked for.
//! - [`approx_distinct_views`]: DataFusion's `approx_distinct` fed one row per view met.
//!   A HyperLogLog sketch does not change when a value is added again, so the result is the
//!   one `approx_distinct` gives.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, LazyLock};

use arrow::array::{
    Array, ArrayRef, AsArray, ByteView, ListArray, MAX_INLINE_VIEW_LEN, StringViewArray, StructArray, UInt32Array,
    UInt64Array,
};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::functions_aggregate::approx_distinct::approx_distinct_udaf;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use datafusion::prelude::Expr;

/// Hashes a view (16 bytes) with one folded multiplication, keyed per process: std's SipHash
/// cost more than the rest of the fold, and the text is the callers' (user agents, error
/// messages), so the key keeps crafted collisions out.
#[derive(Clone, Copy)]
struct ViewHasher {
    key: (u64, u64),
    state: u64,
}

impl Default for ViewHasher {
    fn default() -> Self {
        static KEY: LazyLock<(u64, u64)> = LazyLock::new(|| {
            let s = std::collections::hash_map::RandomState::new();
            (s.hash_one(1u8), s.hash_one(2u8))
        });
        ViewHasher { key: *KEY, state: 0 }
    }
}

impl Hasher for ViewHasher {
    fn finish(&self) -> u64 {
        self.state
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.state = (self.state ^ self.key.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u128(&mut self, v: u128) {
        // Truncations are the point: the two halves are mixed by one wide multiplication.
        let (lo, hi) = (v as u64, (v >> 64) as u64);
        let m = u128::from(lo ^ self.key.0) * u128::from(hi ^ self.key.1);
        self.state = (m as u64) ^ ((m >> 64) as u64);
    }
}

/// Builds [`ViewHasher`]s with the process's key, read once per map.
#[derive(Clone, Copy, Default)]
struct ViewHashing(ViewHasher);

impl std::hash::BuildHasher for ViewHashing {
    type Hasher = ViewHasher;

    fn build_hasher(&self) -> ViewHasher {
        self.0
    }
}

type ViewMap<V> = HashMap<u128, V, ViewHashing>;

/// Views met at most before the memo starts again.
const MEMO_VIEWS: usize = 1 << 16;

/// The views met so far, across batches, each with the slot its text was given.
///
/// Short text (12 bytes at most) is inside its view: those views are remembered as they are,
/// for every batch to come. A longer text's view points into a buffer of its batch by index,
/// so it is remembered by the buffer's address instead, and the buffers are kept alive (Arrow
/// buffers never change) while the memo holds views into them: an address then always means
/// the same bytes. The batches of one Parquet column chunk share its dictionary page's
/// buffer, so a value is looked up by text once per chunk rather than once per batch. A batch
/// with a buffer not met before (the next chunk, or a page without a dictionary) forgets the
/// views into the old buffers: kept small, the memo stays in the processor's cache, which
/// mattered more than finding old views again (a memo of every chunk's views made a top-5 of
/// 3,850 addresses slower than grouping).
pub(crate) struct ViewMemo {
    /// Recent views with their slots, direct-mapped by a hash of the view: a row whose view
    /// is here costs a load and a compare. The maps below cost two dependent probes into
    /// tables larger than the processor's first cache, which `perf` showed waiting on memory
    /// for most of a top-5 of 3,850 addresses. A view into a buffer is only entered (and
    /// looked up) while the batch's buffers are the kept ones in their order, and the cache is
    /// emptied when those are forgotten.
    recent_views: Box<[u128; RECENT]>,
    recent_slots: Box<[u32; RECENT]>,
    short: ViewMap<u32>,
    pointed: ViewMap<u32>,
    buffers: Vec<Buffer>,
    /// Per kept buffer (when small enough), the slots of longer views into it, indexed by
    /// offset / 16: read before `pointed`, it costs an index instead of a hash and a probe,
    /// which `perf` showed waiting on memory for most of a top-5 of addresses.
    direct: Vec<Vec<Direct>>,
}

/// A longer view's slot in [`ViewMemo::direct`]. Two longer values of a dictionary page lie at
/// least 17 bytes apart (a 4-byte length, then more than 12 bytes), so they never share an
/// entry; views that overlap otherwise are checked and fall back to the map.
#[derive(Clone, Copy)]
struct Direct {
    offset: u32,
    len: u32,
    slot: u32,
}

/// Entries of [`ViewMemo::recent_views`]: 16,384 (320 KB with their slots, in the second-level
/// cache). The 3,850 addresses of a top-5 at 10M events kept pushing each other out of 4,096.
const RECENT_BITS: u32 = 14;
const RECENT: usize = 1 << RECENT_BITS;

/// Marks an empty entry of [`ViewMemo::recent_views`]: no view has a length of 4 GB.
const NO_VIEW: u128 = u128::MAX;

/// A view's entry in [`ViewMemo::recent_views`].
fn recent_index(view: u128) -> usize {
    // Truncations are the point: the two halves are folded, then spread by a multiplication.
    let folded = (view as u64) ^ ((view >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_BITS)) as usize
}

impl Default for ViewMemo {
    fn default() -> Self {
        ViewMemo {
            recent_views: Box::new([NO_VIEW; RECENT]),
            recent_slots: Box::new([0; RECENT]),
            short: ViewMap::default(),
            pointed: ViewMap::default(),
            buffers: Vec::new(),
            direct: Vec::new(),
        }
    }
}

const NO_DIRECT: Direct = Direct {
    offset: 0,
    len: 0,
    slot: u32::MAX,
};

/// Buffers up to this size get a direct table (3/4 of the buffer's size): dictionary pages,
/// whose values repeat; a larger buffer is a page of values that mostly do not.
const DIRECT_BYTES: usize = 1 << 20;

impl std::fmt::Debug for ViewMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ViewMemo({} short, {} pointing, {} buffers)",
            self.short.len(),
            self.pointed.len(),
            self.buffers.len()
        )
    }
}

impl ViewMemo {
    /// Keeps `a`'s buffers alive, forgetting the views into others when it has one not met
    /// before, and everything past the memo's bound. Returns each buffer's address and its
    /// index among the kept buffers.
    fn keep(&mut self, a: &StringViewArray) -> (Vec<u64>, Vec<usize>) {
        let kept: Option<Vec<usize>> = a
            .data_buffers()
            .iter()
            .map(|b| {
                self.buffers
                    .iter()
                    .position(|k| k.as_ptr() == b.as_ptr() && k.len() == b.len())
            })
            .collect();
        let kept = match kept {
            Some(kept) if self.pointed.len() <= MEMO_VIEWS => kept,
            _ => {
                self.pointed.clear();
                self.recent_views.fill(NO_VIEW);
                self.buffers = a.data_buffers().to_vec();
                self.direct = self
                    .buffers
                    .iter()
                    .map(|b| match b.len() {
                        n if n <= DIRECT_BYTES => vec![NO_DIRECT; n / 16 + 1],
                        _ => Vec::new(),
                    })
                    .collect();
                (0..self.buffers.len()).collect()
            }
        };
        if self.short.len() > MEMO_VIEWS {
            self.short.clear();
        }
        let addresses = a.data_buffers().iter().map(|b| b.as_ptr() as usize as u64).collect();
        (addresses, kept)
    }

    /// Visits the rows of `a`: `resolve(row)` gives the slot of a view not met before (from
    /// its text), then `count(slot)` is called for every row with a value. Returns the number
    /// of null rows.
    pub(crate) fn visit(
        &mut self,
        a: &StringViewArray,
        mut resolve: impl FnMut(usize) -> u32,
        mut count: impl FnMut(u32),
    ) -> u64 {
        let (addresses, kept) = self.keep(a);
        // Views into buffers name them by index in their batch: the same view means the same
        // text across batches only while the indices keep naming the kept buffers.
        let in_kept_order = kept.iter().enumerate().all(|(i, k)| i == *k);
        let mut nulls = 0;
        for (row, view) in a.views().iter().enumerate() {
            if a.is_null(row) {
                nulls += 1;
                continue;
            }
            let view = *view;
            let recent = (in_kept_order || inline(view)).then(|| recent_index(view));
            if let Some(r) = recent
                && self.recent_views[r] == view
            {
                count(self.recent_slots[r]);
                continue;
            }
            let slot = self.slot_of(view, row, &addresses, &kept, &mut resolve);
            if let Some(r) = recent {
                self.recent_views[r] = view;
                self.recent_slots[r] = slot;
            }
            count(slot);
        }
        nulls
    }

    /// The slot of a view not among the recent ones: from the buffer's direct table, the
    /// maps, or else `resolve(row)`.
    fn slot_of(
        &mut self,
        view: u128,
        row: usize,
        addresses: &[u64],
        kept: &[usize],
        resolve: &mut impl FnMut(usize) -> u32,
    ) -> u32 {
        let direct = direct_entry(view, kept, &mut self.direct);
        if let Some(d) = direct.as_deref()
            && d.slot != u32::MAX
            && (d.offset, d.len) == view_place(view)
        {
            return d.slot;
        }
        let (map, key) = match memo_key(view, addresses) {
            Some(key) => (&mut self.pointed, key),
            None => (&mut self.short, view),
        };
        let slot = match map.get(&key) {
            Some(s) => *s,
            None => {
                let s = resolve(row);
                map.insert(key, s);
                s
            }
        };
        if let Some(d) = direct
            && d.slot == u32::MAX
        {
            let (offset, len) = view_place(view);
            *d = Direct { offset, len, slot };
        }
        slot
    }

    fn size(&self) -> usize {
        RECENT * 20
            + (self.short.capacity() + self.pointed.capacity()) * 24
            + self.direct.iter().map(|d| d.capacity() * 12).sum::<usize>()
            + self.buffers.iter().map(Buffer::capacity).sum::<usize>()
    }
}

/// A view's offset and length.
fn view_place(view: u128) -> (u32, u32) {
    let v = ByteView::from(view);
    (v.offset, v.length)
}

/// Whether a view holds its text itself (12 bytes at most) rather than pointing at it.
pub(crate) fn inline(view: u128) -> bool {
    view as u32 <= MAX_INLINE_VIEW_LEN
}

/// The direct-table entry of a longer view, if its buffer has a table.
fn direct_entry<'a>(view: u128, kept: &[usize], direct: &'a mut [Vec<Direct>]) -> Option<&'a mut Direct> {
    if inline(view) {
        return None;
    }
    let v = ByteView::from(view);
    let table = direct.get_mut(*kept.get(v.buffer_index as usize)?)?;
    table.get_mut(v.offset as usize / 16)
}

/// A longer text's view as the memo knows it: named by length, offset and its buffer's
/// address instead of its index. `None` for short text, whose view is the text.
fn memo_key(view: u128, addresses: &[u64]) -> Option<u128> {
    if inline(view) {
        return None;
    }
    let v = ByteView::from(view);
    let address = addresses.get(v.buffer_index as usize).copied().unwrap_or(u64::MAX);
    Some(u128::from(v.length) | (u128::from(v.offset) << 32) | (u128::from(address) << 64))
}

/// An error of one of our aggregate functions (`function`): a caller broke its contract.
pub(crate) fn internal(function: &str, what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("{function}: {what}"))
}

const TERM_COUNTS: &str = "trailscope_term_counts";
const APPROX_DISTINCT_VIEWS: &str = "trailscope_approx_distinct_views";

/// The state of an accumulator whose result is a one-row struct: the struct's fields.
pub(crate) fn struct_state(s: &StructArray) -> Result<Vec<ScalarValue>> {
    s.columns().iter().map(|c| ScalarValue::try_from_array(c, 0)).collect()
}

/// A list array of one row holding `values` (an accumulator's state or result).
pub(crate) fn one_row_list(values: ArrayRef, item: DataType) -> ArrayRef {
    let n = values.len();
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(item, false)),
        OffsetBuffer::from_lengths([n]),
        values,
        None,
    ))
}

/// The state of [`term_counts`]: every term met (`terms` and `counts`, lists of equal length)
/// and `missing`, the rows without a term.
fn term_counts_fields() -> Fields {
    Fields::from(vec![
        list_field("terms", DataType::Utf8View),
        list_field("counts", DataType::UInt64),
        Field::new("missing", DataType::UInt64, false),
    ])
}

/// The result of [`term_counts`]: the terms kept by its [`TermsCut`], in order, with their
/// counts, and `with_value`, the rows counted under some term before the cut.
fn terms_result_fields() -> Fields {
    Fields::from(vec![
        list_field("terms", DataType::Utf8View),
        list_field("counts", DataType::UInt64),
        Field::new("with_value", DataType::UInt64, false),
    ])
}

/// An aggregate's state `fields`, named after the aggregate as DataFusion names them.
pub(crate) fn state_fields(args: &StateFieldsArgs, fields: &Fields) -> Vec<FieldRef> {
    fields
        .iter()
        .map(|f| Arc::new(f.as_ref().clone().with_name(format!("{}[{}]", args.name, f.name()))))
        .collect()
}

/// A non-null list of non-null `item`s.
pub(crate) fn list_field(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new_list_field(item, false))),
        false,
    )
}

/// Which terms a `terms` aggregation keeps: `size` of them, by count (ties by term) or by
/// term, and under which term the rows without one are counted, if any.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TermsCut {
    pub(crate) size: usize,
    pub(crate) by_count: bool,
    pub(crate) descending: bool,
    pub(crate) missing: Option<String>,
}

impl TermsCut {
    /// `terms` with the rows without a term added under `missing` (merged with a term of
    /// that text), cut to `size` in order; and the rows counted before the cut.
    fn apply<'a>(&'a self, mut terms: Vec<(&'a str, u64)>, missing: u64) -> (Vec<(&'a str, u64)>, u64) {
        if let Some(m) = self.missing.as_deref().filter(|_| missing > 0) {
            match terms.iter_mut().find(|(t, _)| *t == m) {
                Some(t) => t.1 += missing,
                None => terms.push((m, missing)),
            }
        }
        let with_value = terms.iter().map(|t| t.1).sum();
        let cmp = |a: &(&str, u64), b: &(&str, u64)| {
            let (first, second) = if self.descending { (b, a) } else { (a, b) };
            match self.by_count {
                true => first.1.cmp(&second.1).then_with(|| a.0.cmp(b.0)),
                false => first.0.cmp(second.0),
            }
        };
        (first_in_order(terms, self.size, cmp), with_value)
    }
}

/// The first `n` of `items` in the order of `cmp`, sorted, without sorting the rest.
pub(crate) fn first_in_order<T>(mut items: Vec<T>, n: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    if items.len() > n {
        items.select_nth_unstable_by(n, &cmp);
        items.truncate(n);
    }
    items.sort_by(cmp);
    items
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TermCounts {
    signature: Signature,
    cut: TermsCut,
}

impl AggregateUDFImpl for TermCounts {
    fn name(&self) -> &str {
        TERM_COUNTS
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(terms_result_fields()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(&args, &term_counts_fields()))
    }

    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(TermCountsAccumulator::new(self.cut.clone())))
    }
}

#[derive(Debug)]
struct TermCountsAccumulator {
    cut: TermsCut,
    /// Each term's slot in `counts`.
    slots: datafusion::common::HashMap<Box<str>, u32>,
    counts: Vec<u64>,
    missing: u64,
    memo: ViewMemo,
    /// Bytes of the terms kept, for the memory pool.
    text_bytes: usize,
}

impl TermCountsAccumulator {
    fn new(cut: TermsCut) -> Self {
        TermCountsAccumulator {
            cut,
            slots: Default::default(),
            counts: Vec::new(),
            missing: 0,
            memo: ViewMemo::default(),
            text_bytes: 0,
        }
    }

    fn slot(slots: &mut datafusion::common::HashMap<Box<str>, u32>, text_bytes: &mut usize, term: &str) -> u32 {
        if let Some(s) = slots.get(term) {
            return *s;
        }
        let s = u32::try_from(slots.len()).unwrap_or(u32::MAX);
        *text_bytes += term.len();
        slots.insert(term.into(), s);
        s
    }

    fn add(&mut self, term: &str, n: u64) {
        let s = Self::slot(&mut self.slots, &mut self.text_bytes, term) as usize;
        if s >= self.counts.len() {
            self.counts.resize(s + 1, 0);
        }
        self.counts[s] += n;
    }

    fn terms(&self) -> Vec<(&str, u64)> {
        self.slots
            .iter()
            .map(|(t, s)| (&**t, self.counts.get(*s as usize).copied().unwrap_or(0)))
            .collect()
    }

    /// Terms and counts as two one-row lists. Views, not offsets: every term of a
    /// high-cardinality field may add up to more than 2 GiB.
    fn lists(terms: &[(&str, u64)]) -> [ArrayRef; 2] {
        let text = StringViewArray::from_iter_values(terms.iter().map(|t| t.0));
        let counts = UInt64Array::from_iter_values(terms.iter().map(|t| t.1));
        [
            one_row_list(Arc::new(text), DataType::Utf8View),
            one_row_list(Arc::new(counts), DataType::UInt64),
        ]
    }
}

impl Accumulator for TermCountsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let column = values.first().ok_or_else(|| internal(TERM_COUNTS, "no argument"))?;
        let views = column
            .as_string_view_opt()
            .ok_or_else(|| internal(TERM_COUNTS, "reads string views"))?;
        let (slots, text_bytes, counts) = (&mut self.slots, &mut self.text_bytes, &mut self.counts);
        self.missing += self.memo.visit(
            views,
            |row| Self::slot(slots, text_bytes, views.value(row)),
            |slot| match counts.get_mut(slot as usize) {
                Some(c) => *c += 1,
                None => {
                    counts.resize(slot as usize + 1, 0);
                    counts[slot as usize] = 1;
                }
            },
        );
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [terms, counts, missing] = states else {
            return Err(internal(TERM_COUNTS, "a state has three parts"));
        };
        let (terms, counts) = (terms.as_list::<i32>(), counts.as_list::<i32>());
        for row in 0..terms.len() {
            let (t, c) = (terms.value(row), counts.value(row));
            let t = t
                .as_string_view_opt()
                .ok_or_else(|| internal(TERM_COUNTS, "terms of a state are string views"))?;
            let c = c.as_primitive::<arrow::datatypes::UInt64Type>();
            for i in 0..t.len() {
                self.add(t.value(i), c.value(i));
            }
        }
        self.missing += missing
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .iter()
            .flatten()
            .sum::<u64>();
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let [text, counts] = Self::lists(&self.terms());
        Ok(vec![
            ScalarValue::try_from_array(&text, 0)?,
            ScalarValue::try_from_array(&counts, 0)?,
            ScalarValue::UInt64(Some(self.missing)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (kept, with_value) = self.cut.apply(self.terms(), self.missing);
        let [text, counts] = Self::lists(&kept);
        let with_value: ArrayRef = Arc::new(UInt64Array::from(vec![with_value]));
        let result = StructArray::new(terms_result_fields(), vec![text, counts, with_value], None);
        Ok(ScalarValue::Struct(Arc::new(result)))
    }

    fn size(&self) -> usize {
        // A map entry: the boxed text's pointer and length, the slot, hashbrown's control byte.
        std::mem::size_of_val(self)
            + self.slots.capacity() * 25
            + self.counts.capacity() * 8
            + self.text_bytes
            + self.memo.size()
    }
}

/// The `terms` aggregation of `e` (text) for one group: the terms `cut` keeps with their
/// counts, and the rows counted under some term; [`read_terms`] reads it.
pub(crate) fn term_counts(e: Expr, cut: TermsCut) -> Expr {
    AggregateUDF::from(TermCounts {
        signature: Signature::any(1, Volatility::Immutable),
        cut,
    })
    .call(vec![e])
}

/// Reads the result of [`term_counts`]: the terms kept, in order, with their counts, and the
/// rows counted under some term.
pub(crate) fn read_terms(a: &dyn Array, row: usize) -> Option<(Vec<(String, u64)>, u64)> {
    let s = a.as_struct_opt()?;
    if s.is_null(row) {
        return Some((Vec::new(), 0));
    }
    let terms = s.column(0).as_list_opt::<i32>()?.value(row);
    let counts = s.column(1).as_list_opt::<i32>()?.value(row);
    let (terms, counts) = (
        terms.as_string_view_opt()?,
        counts.as_primitive_opt::<arrow::datatypes::UInt64Type>()?,
    );
    let with_value = s
        .column(2)
        .as_primitive_opt::<arrow::datatypes::UInt64Type>()?
        .value(row);
    let pairs = (0..terms.len())
        .map(|i| (terms.value(i).to_string(), counts.value(i)))
        .collect();
    Some((pairs, with_value))
}

/// `approx_distinct`, fed one row per distinct view of each batch.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ApproxDistinctViews {
    inner: AggregateUDF,
}

impl AggregateUDFImpl for ApproxDistinctViews {
    fn name(&self) -> &str {
        APPROX_DISTINCT_VIEWS
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let views = args.expr_fields.first().map(|f| f.data_type()) == Some(&DataType::Utf8View);
        let inner = self.inner.accumulator(args)?;
        Ok(match views {
            true => Box::new(FoldedAccumulator {
                inner,
                memo: ViewMemo::default(),
            }),
            false => inner,
        })
    }
}

#[derive(Debug)]
struct FoldedAccumulator {
    inner: Box<dyn Accumulator>,
    memo: ViewMemo,
}

impl Accumulator for FoldedAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let column = values
            .first()
            .ok_or_else(|| internal(APPROX_DISTINCT_VIEWS, "no argument"))?;
        let views = column
            .as_string_view_opt()
            .ok_or_else(|| internal(APPROX_DISTINCT_VIEWS, "reads string views"))?;
        let mut firsts = Vec::new();
        self.memo.visit(
            views,
            |row| {
                firsts.push(u32::try_from(row).unwrap_or(u32::MAX));
                0
            },
            |_| {},
        );
        if firsts.is_empty() {
            return Ok(());
        }
        let distinct = arrow::compute::take(column.as_ref(), &UInt32Array::from(firsts), None)?;
        self.inner.update_batch(&[distinct])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.evaluate()
    }

    fn size(&self) -> usize {
        self.inner.size() + self.memo.size()
    }
}

static APPROX_DISTINCT_VIEWS_UDF: LazyLock<AggregateUDF> = LazyLock::new(|| {
    AggregateUDF::from(ApproxDistinctViews {
        inner: approx_distinct_udaf().as_ref().clone(),
    })
});

/// `approx_distinct(e)` for one group (no `GROUP BY`): the same sketch, computed from each
/// batch's distinct views. Grouped, DataFusion's own accumulator for many groups is faster.
pub(crate) fn approx_distinct_views(e: Expr) -> Expr {
    APPROX_DISTINCT_VIEWS_UDF.call(vec![e])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringViewBuilder, UInt64Array};
    use datafusion::prelude::{SessionContext, col};

    /// A column as a dictionary-encoded page decodes: equal values share one view.
    fn dictionary_like(values: &[Option<&str>]) -> StringViewArray {
        let mut b = StringViewBuilder::new().with_deduplicate_strings();
        for v in values {
            b.append_option(*v);
        }
        b.finish()
    }

    const LONG_A: &str = "DescribeContainerInstances";
    const LONG_B: &str = "arn:aws:iam::111122223333:user/alice";

    /// The rows `resolve` was asked about, each row's slot, and the null rows.
    fn visit(memo: &mut ViewMemo, a: &StringViewArray) -> (Vec<usize>, Vec<u32>, u64) {
        let (mut asked, mut slots) = (Vec::new(), Vec::new());
        let nulls = memo.visit(
            a,
            |row| {
                asked.push(row);
                u32::try_from(row).unwrap_or(u32::MAX)
            },
            |slot| slots.push(slot),
        );
        (asked, slots, nulls)
    }

    #[test]
    fn a_view_is_looked_at_once_while_its_buffer_lives() {
        let a = dictionary_like(&[
            Some(LONG_A),
            Some("RunTask"),
            None,
            Some(LONG_A),
            Some(LONG_B),
            Some("RunTask"),
        ]);
        let mut memo = ViewMemo::default();
        assert_eq!(visit(&mut memo, &a), (vec![0, 1, 4], vec![0, 1, 0, 4, 1], 1));
        // A later batch over the same buffer (as the batches of one column chunk share its
        // dictionary page): nothing is looked at again.
        assert_eq!(visit(&mut memo, &a.slice(3, 3)), (vec![], vec![0, 4, 1], 0));
        // Another buffer (the next chunk): views into the old one are forgotten, short text is
        // not. Equal text in two views is looked at twice, and merged by text by the caller.
        let other = StringViewArray::from(vec![LONG_A, LONG_A, "RunTask", "10.0.0.1"]);
        assert_eq!(visit(&mut memo, &other), (vec![0, 1, 3], vec![0, 1, 1, 3], 0));
    }

    #[test]
    fn views_sharing_a_direct_entry_keep_their_own_slots() {
        // Views overlapping within 16 bytes (not a dictionary page's layout) meet in one entry
        // of the direct table; the same offset with another length too.
        let bytes = Buffer::from(b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec());
        let view = |offset: u32, len: u32| -> u128 {
            ByteView::new(len, &bytes.as_slice()[offset as usize..offset as usize + 4])
                .with_offset(offset)
                .as_u128()
        };
        let views = vec![
            view(0, 20),
            view(4, 16),
            view(0, 20),
            view(4, 16),
            view(0, 14),
            view(0, 14),
        ];
        let a = StringViewArray::try_new(views.into(), vec![bytes.clone()], None).unwrap_or_else(|e| panic!("{e}"));
        let mut memo = ViewMemo::default();
        assert_eq!(visit(&mut memo, &a), (vec![0, 1, 4], vec![0, 1, 0, 1, 4, 4], 0));
        assert_eq!(visit(&mut memo, &a), (vec![], vec![0, 1, 0, 1, 4, 4], 0));
    }

    #[test]
    fn a_view_means_its_text_when_the_same_buffers_come_in_another_order() {
        // Two texts of one length and prefix: at the same offset of two buffers, their views
        // differ only by the buffer's index, which the second batch swaps.
        let (one, two) = ("prefix-one-of-these", "prefix-two-of-these");
        let (b1, b2) = (
            Buffer::from(one.as_bytes().to_vec()),
            Buffer::from(two.as_bytes().to_vec()),
        );
        let view = |index: u32| {
            ByteView::new(19, &one.as_bytes()[..4])
                .with_buffer_index(index)
                .as_u128()
        };
        let batch = |buffers: Vec<Buffer>| {
            StringViewArray::try_new(vec![view(0), view(1)].into(), buffers, None).unwrap_or_else(|e| panic!("{e}"))
        };
        let (first, swapped) = (batch(vec![b1.clone(), b2.clone()]), batch(vec![b2, b1]));
        assert_eq!((first.value(0), swapped.value(0)), (one, two));
        let mut memo = ViewMemo::default();
        assert_eq!(visit(&mut memo, &first), (vec![0, 1], vec![0, 1], 0));
        assert_eq!(visit(&mut memo, &swapped), (vec![], vec![1, 0], 0));
        assert_eq!(visit(&mut memo, &first), (vec![], vec![0, 1], 0));
    }

    #[test]
    fn the_memo_starts_afresh_past_its_bounds() {
        let mut memo = ViewMemo::default();
        let values: Vec<String> = (0..MEMO_VIEWS + 10).map(|i| format!("{LONG_B}/{i}")).collect();
        let a = StringViewArray::from_iter_values(values.iter());
        let (asked, _, _) = visit(&mut memo, &a);
        assert_eq!(asked.len(), values.len());
        let (asked, slots, _) = visit(&mut memo, &a.slice(0, 2));
        assert_eq!(
            (asked, slots),
            (vec![0, 1], vec![0, 1]),
            "forgotten and looked at again"
        );
        assert!(memo.pointed.len() <= 2 && memo.buffers.len() <= a.data_buffers().len());
    }

    fn rows(seed: u64, n: usize) -> Vec<Option<String>> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                match (x >> 33) % 23 {
                    0 => None,
                    k if k < 12 => Some(format!("short{k}")),
                    k => Some(format!("{LONG_B}-{k}")),
                }
            })
            .collect()
    }

    fn batches(seed: u64) -> Vec<StringViewArray> {
        (0..6)
            .map(|i| {
                let r = rows(seed + i, 3000);
                let r: Vec<Option<&str>> = r.iter().map(|v| v.as_deref()).collect();
                match i % 2 {
                    0 => dictionary_like(&r),
                    _ => StringViewArray::from(r),
                }
            })
            .collect()
    }

    #[test]
    fn term_counts_equal_a_plain_count_across_batches_and_merges() {
        let mut expected: HashMap<String, u64> = HashMap::new();
        let mut nulls = 0;
        let mut parts = Vec::new();
        let all = TermsCut {
            size: usize::MAX,
            by_count: true,
            descending: true,
            missing: None,
        };
        for seed in [1, 100] {
            let mut acc = TermCountsAccumulator::new(all.clone());
            for b in batches(seed) {
                for v in b.iter() {
                    match v {
                        Some(s) => *expected.entry(s.to_string()).or_default() += 1,
                        None => nulls += 1,
                    }
                }
                acc.update_batch(&[Arc::new(b) as ArrayRef])
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            parts.push(acc.state().unwrap_or_else(|e| panic!("{e}")));
        }
        let states: Vec<ArrayRef> = (0..3)
            .map(|i| ScalarValue::iter_to_array(parts.iter().map(|p| p[i].clone())).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let result = |cut: TermsCut| {
            let mut merged = TermCountsAccumulator::new(cut);
            merged.merge_batch(&states).unwrap_or_else(|e| panic!("{e}"));
            let result = merged.evaluate().unwrap_or_else(|e| panic!("{e}"));
            let array = result.to_array().unwrap_or_else(|e| panic!("{e}"));
            read_terms(array.as_ref(), 0).unwrap_or_else(|| panic!("a term_counts struct"))
        };
        let (pairs, with_value) = result(all.clone());
        let got: HashMap<String, u64> = pairs.iter().cloned().collect();
        assert_eq!(got, expected);
        assert_eq!(with_value, expected.values().sum::<u64>());
        assert!(
            pairs
                .windows(2)
                .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0))
        );

        // The rows without a term under a term of their own, and a cut to the last 3 by text.
        let cut = TermsCut {
            size: 3,
            by_count: false,
            descending: true,
            missing: Some("~none".into()),
        };
        let (pairs, with_value) = result(cut);
        let mut keys: Vec<&String> = expected.keys().collect();
        keys.sort();
        assert_eq!(pairs[0], ("~none".to_string(), nulls));
        assert_eq!(pairs[1].0, **keys.last().unwrap_or_else(|| panic!("terms")));
        assert_eq!(pairs.len(), 3);
        assert_eq!(with_value, expected.values().sum::<u64>() + nulls);
    }

    #[tokio::test]
    async fn approx_distinct_views_is_approx_distinct() {
        let ctx = SessionContext::new();
        let mut tables = Vec::new();
        for b in batches(7) {
            let batch = arrow::record_batch::RecordBatch::try_from_iter([("v", Arc::new(b) as ArrayRef)])
                .unwrap_or_else(|e| panic!("{e}"));
            tables.push(batch);
        }
        let mem = datafusion::datasource::MemTable::try_new(tables[0].schema(), vec![tables])
            .unwrap_or_else(|e| panic!("{e}"));
        ctx.register_table("t", Arc::new(mem)).unwrap_or_else(|e| panic!("{e}"));
        let df = ctx.table("t").await.unwrap_or_else(|e| panic!("{e}"));
        let out = df
            .aggregate(
                vec![],
                vec![
                    datafusion::functions_aggregate::expr_fn::approx_distinct(col("v")).alias("plain"),
                    approx_distinct_views(col("v")).alias("folded"),
                ],
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let value = |name: &str| {
            out[0]
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<UInt64Array>().map(|c| c.value(0)))
        };
        assert!(value("plain").is_some_and(|n| n > 10));
        assert_eq!(value("plain"), value("folded"));
    }
}
