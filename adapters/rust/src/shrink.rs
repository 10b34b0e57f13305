use crate::types::{NodeError, Outcome};
use crate::wire::result_len;

/// The bytes of a results payload before its results: type, id, count.
pub(crate) const RESULTS_HEADER: usize = 1 + 8 + 4;

/// Turns the largest results into errors until the results payload fits in
/// `max_frame`, so that one huge output fails its own record rather than
/// the whole node (the runtime would refuse the frame and restart us).
pub(crate) fn shrink_to_fit(results: &mut [Outcome], max_frame: usize) {
    let mut sizes: Vec<usize> = results.iter().map(result_len).collect();
    let mut total = RESULTS_HEADER + sizes.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]));
    for i in order {
        if total <= max_frame {
            return;
        }
        let msg = format!(
            "outputs of this record take {} bytes, over the {max_frame}-byte frame limit",
            sizes[i]
        );
        results[i] = Err(NodeError::permanent(msg));
        let new = result_len(&results[i]);
        total = total - sizes[i] + new;
        sizes[i] = new;
    }
}
