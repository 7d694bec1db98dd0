//! Finding one piece of text, ignoring ASCII case, in Arrow text arrays without copying them.
//!
//! Free text searches every text column of every event, so this is the hottest loop of the
//! most expensive query there is. String views are searched where their bytes already lie:
//! short values inside the views themselves, long ones in the buffers the views point into.
//! Each buffer is searched once per array over the span its views use, so a dictionary page
//! shared by thousands of rows is read once rather than once per row, and most arrays are
//! cleared by a `memchr`-speed pass without looking at a single row.

use aho_corasick::{AhoCorasick, Input};
use arrow::array::{Array, AsArray, ByteView, MAX_INLINE_VIEW_LEN, StringArray};
use arrow::buffer::{Buffer, NullBuffer};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;

/// Values up to this long lie inside their view.
const INLINE: usize = MAX_INLINE_VIEW_LEN as usize;
/// Inline bytes start after the 4-byte length.
const INLINE_AT: usize = 4;
const VIEW: usize = 16;

/// The text to find, ready to search for.
#[derive(Debug, Clone)]
pub struct Needle {
    finder: AhoCorasick,
    len: usize,
}

impl Needle {
    pub fn new(text: &str) -> Result<Self, aho_corasick::BuildError> {
        let finder = AhoCorasick::builder().ascii_case_insensitive(true).build([text])?;
        Ok(Self {
            finder,
            len: text.len(),
        })
    }

    /// Sets `hit[row]` for every row of `array` (text, or lists of text) that contains the
    /// needle. Rows already set stay set: callers fold several columns into one `hit`, which
    /// is at least as long as the array.
    pub fn mark(&self, array: &dyn Array, hit: &mut [bool]) -> Result<(), ArrowError> {
        match array.data_type() {
            DataType::List(_) => {
                let list = array.as_list::<i32>();
                let mut inner = vec![false; list.values().len()];
                self.mark(list.values().as_ref(), &mut inner)?;
                for (row, w) in list.offsets().windows(2).enumerate() {
                    let (a, b) = (usize::try_from(w[0]).unwrap_or(0), usize::try_from(w[1]).unwrap_or(0));
                    if !list.is_null(row) && inner.get(a..b).is_some_and(|s| s.contains(&true)) {
                        hit[row] = true;
                    }
                }
            }
            DataType::Utf8View => {
                let views = array.as_string_view();
                let raw = views.views().inner().as_slice();
                self.mark_views(views.views(), raw, views.data_buffers(), views.nulls(), hit);
            }
            DataType::Utf8 => self.mark_contiguous(array.as_string::<i32>(), hit),
            _ => {
                let text = arrow::compute::cast(array, &DataType::Utf8)?;
                self.mark_contiguous(text.as_string::<i32>(), hit);
            }
        }
        Ok(())
    }

    /// Every position in `hay` where the needle starts, overlapping ones included: a false
    /// match across two values must not hide a true one starting inside it.
    fn starts<'a>(&'a self, hay: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        let mut at = 0;
        std::iter::from_fn(move || {
            let m = self.finder.find(Input::new(hay).span(at..hay.len()))?;
            at = m.start() + 1;
            Some(m.start())
        })
    }

    /// `raw` is `views` as bytes.
    fn mark_views(&self, views: &[u128], raw: &[u8], buffers: &[Buffer], nulls: Option<&NullBuffer>, hit: &mut [bool]) {
        let valid = |row: usize| nulls.is_none_or(|n| n.is_valid(row));
        if self.len == 0 {
            for (row, h) in hit.iter_mut().enumerate().take(views.len()) {
                *h |= valid(row);
            }
            return;
        }
        // Short values: the views are one contiguous haystack of 16-byte slots; a start counts
        // when the whole needle lies within an inline value's bytes.
        if self.len <= INLINE {
            for s in self.starts(raw) {
                let (row, at) = (s / VIEW, s % VIEW);
                let len = view_len(views[row]);
                if len <= INLINE && at >= INLINE_AT && at + self.len <= INLINE_AT + len && valid(row) {
                    hit[row] = true;
                }
            }
        }
        // Long values: the span of each buffer the views use, searched once, unless that would
        // read much more than the values (a filtered batch keeps its buffers whole) or the
        // needle is everywhere (one start per byte): then each value is searched by itself.
        let mut spans = vec![(usize::MAX, 0usize); buffers.len()];
        let (mut long, mut used) = (0usize, 0usize);
        // Null rows are not told apart here: their views are within bounds too (validated), so
        // counting them only widens a span a little, and saves a bit test per row.
        for &v in views {
            if let Some((b, from, to)) = out_of_line(v)
                && let Some(span) = spans.get_mut(b)
            {
                span.0 = span.0.min(from);
                span.1 = span.1.max(to);
                long += 1;
                used += to - from;
            }
        }
        let spanned: usize = spans.iter().map(|&(from, to)| to.saturating_sub(from)).sum();
        let mut found = Vec::with_capacity(buffers.len());
        let mut by_value = spanned > 2 * used + 4096;
        for (&(from, to), buffer) in spans.iter().zip(buffers) {
            if by_value {
                break;
            }
            let starts: Vec<usize> = match buffer.as_slice().get(from..to) {
                Some(bytes) if from < to => self.starts(bytes).take(long + 1).map(|s| s + from).collect(),
                _ => Vec::new(),
            };
            by_value = starts.len() > long;
            found.push(starts);
        }
        if by_value {
            for (row, &v) in views.iter().enumerate() {
                if let Some((b, from, to)) = out_of_line(v)
                    && let Some(bytes) = buffers.get(b).and_then(|b| b.as_slice().get(from..to))
                    && self.finder.is_match(bytes)
                    && valid(row)
                {
                    hit[row] = true;
                }
            }
            return;
        }
        if found.iter().all(Vec::is_empty) {
            return;
        }
        for (row, &v) in views.iter().enumerate() {
            let Some((b, from, to)) = out_of_line(v) else { continue };
            let Some(starts) = found.get(b).filter(|s| !s.is_empty()) else {
                continue;
            };
            let first = starts.partition_point(|&s| s < from);
            if starts.get(first).is_some_and(|&s| s + self.len <= to) && valid(row) {
                hit[row] = true;
            }
        }
    }

    fn mark_contiguous(&self, text: &StringArray, hit: &mut [bool]) {
        let offsets = text.value_offsets();
        let at = |o: i32| usize::try_from(o).unwrap_or(0);
        // A sliced array keeps its whole value buffer: only the slice's bytes are searched.
        let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
            return;
        };
        let data = text.value_data().get(at(first)..at(last)).unwrap_or_default();
        let mut from = 0usize;
        while from < data.len() {
            let Some(m) = self.finder.find(Input::new(data).span(from..data.len())) else {
                break;
            };
            // The row holding the match's first byte; a match running into the next value is
            // not a match, and the search resumes at that next value.
            let start = m.start() + at(first);
            let row = offsets.partition_point(|&o| at(o) <= start).saturating_sub(1);
            let end = offsets.get(row + 1).map_or(data.len(), |&o| at(o) - at(first));
            if m.end() <= end && text.is_valid(row) {
                hit[row] = true;
            }
            from = end.max(m.start() + 1);
        }
        if self.len == 0 {
            for (row, h) in hit.iter_mut().enumerate().take(text.len()) {
                *h |= text.is_valid(row);
            }
        }
    }
}

/// A view's length: the low 32 bits of every view, inline or not.
fn view_len(v: u128) -> usize {
    (v as u32) as usize
}

/// The buffer index and byte range of a value stored outside its view.
fn out_of_line(v: u128) -> Option<(usize, usize, usize)> {
    if crate::viewfold::inline(v) {
        return None;
    }
    let v = ByteView::from(v);
    let offset = v.offset as usize;
    Some((v.buffer_index as usize, offset, offset + v.length as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, ListArray, StringViewArray, StringViewBuilder};
    use std::sync::Arc;

    fn expected(values: &[Option<&str>], needle: &str) -> Vec<bool> {
        let needle = needle.to_ascii_lowercase();
        values
            .iter()
            .map(|v| v.is_some_and(|v| v.to_ascii_lowercase().contains(&needle)))
            .collect()
    }

    fn marked(needle: &str, array: &dyn Array) -> Vec<bool> {
        let n = Needle::new(needle).unwrap_or_else(|e| panic!("{e}"));
        let mut hit = vec![false; array.len()];
        n.mark(array, &mut hit).unwrap_or_else(|e| panic!("{e}"));
        hit
    }

    /// Values packed back to back in one buffer, so a needle can run across two of them,
    /// and overlapping false matches can precede true ones.
    fn packed(values: &[Option<&str>]) -> StringViewArray {
        let mut b = StringViewBuilder::new().with_fixed_block_size(1 << 16);
        for v in values {
            b.append_option(*v);
        }
        b.finish()
    }

    #[test]
    fn matches_are_found_within_values_only() {
        let values = [
            Some("xab"),
            Some("abay"),
            None,
            Some("zzABA"),
            Some("a"),
            Some("ba"),
            Some("a long value ending in ab"),
            Some("a long value starting later: aba"),
            // A false match across these two ("ab" + "a") overlaps the true one at the start
            // of the second.
            Some("long text that ends in ab"),
            Some("aba starts this long value"),
            Some(""),
            Some("ABA"),
            Some("something twelve"),
            // The longest value kept inside its view, and the shortest kept outside.
            Some("twelve bytes"),
            Some("thirteen byte"),
        ];
        let needles = [
            "aba",
            "ab",
            "a",
            "b",
            "e",
            "ending in ab",
            "long value starting",
            "zz",
            "",
            "twelve bytes",
            "bytes",
            "thirteen byte",
            "n byte",
            "twelve bytes!",
        ];
        for needle in needles {
            let want = expected(&values, needle);
            assert_eq!(marked(needle, &packed(&values)), want, "views, '{needle}'");
            assert_eq!(
                marked(needle, &StringArray::from(values.to_vec())),
                want,
                "utf8, '{needle}'"
            );
            let sliced = packed(&values).slice(2, 9);
            assert_eq!(marked(needle, &sliced), want[2..11].to_vec(), "slice, '{needle}'");
            let sliced = StringArray::from(values.to_vec()).slice(2, 9);
            assert_eq!(marked(needle, &sliced), want[2..11].to_vec(), "utf8 slice, '{needle}'");
            // A filtered batch keeps its buffers whole: a few views into large buffers.
            let keep = arrow::array::BooleanArray::from((0..values.len()).map(|i| i % 5 == 1).collect::<Vec<_>>());
            let kept: Vec<Option<&str>> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == 1)
                .map(|(_, v)| *v)
                .collect();
            let filtered = arrow::compute::filter(&packed(&values), &keep).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                marked(needle, &filtered),
                expected(&kept, needle),
                "filtered, '{needle}'"
            );
        }
    }

    #[test]
    fn a_needle_found_everywhere_is_searched_value_by_value() {
        let values: Vec<Option<&str>> = (0..2000)
            .map(|i| {
                Some(if i % 3 == 0 {
                    "aaaaaaaaaaaaaaaaaaaaaaaaaa"
                } else {
                    "bbbbbbbbbbbbbbbbbbbbbbb"
                })
            })
            .collect();
        for needle in ["a", "aa", "b"] {
            assert_eq!(
                marked(needle, &packed(&values)),
                expected(&values, needle),
                "'{needle}'"
            );
        }
    }

    #[test]
    fn views_sharing_one_value_and_several_buffers() {
        // As a dictionary page decodes: many rows pointing at the same bytes, in two buffers.
        let dict = Buffer::from(b"<AccessDenied for this user>".to_vec());
        let other = Buffer::from(b"a value without it, long enough".to_vec());
        let view = |buffer: u32, offset: u32, len: u32, bytes: &[u8]| -> u128 {
            ByteView::new(len, &bytes[offset as usize..offset as usize + 4])
                .with_buffer_index(buffer)
                .with_offset(offset)
                .as_u128()
        };
        let denied = view(0, 1, 26, dict.as_slice());
        let tail = view(0, 14, 14, dict.as_slice());
        let plain = view(1, 0, 31, other.as_slice());
        let views: Vec<u128> = vec![denied, plain, tail, denied, plain];
        let array = StringViewArray::try_new(views.into(), vec![dict, other], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(marked("denied", &array), vec![true, false, false, true, false]);
        assert_eq!(marked("user", &array), vec![true, false, true, true, false]);
        assert_eq!(marked("long enough", &array), vec![false, true, false, false, true]);
    }

    #[test]
    fn lists_match_when_any_item_does() {
        let items: ArrayRef = Arc::new(packed(&[Some("ecs"), Some("Denied"), Some("ok"), None]));
        let field = Arc::new(arrow::datatypes::Field::new("item", DataType::Utf8View, true));
        let offsets = arrow::buffer::OffsetBuffer::new(vec![0, 2, 3, 4, 4].into());
        let list = ListArray::new(
            field,
            offsets,
            items,
            Some(NullBuffer::from(vec![true, true, true, false])),
        );
        assert_eq!(marked("denied", &list), vec![true, false, false, false]);
    }
}
