/**
 * SAD's `locate_message`: the index of the message nearest `utime` in a non-decreasing list of times.
 * numpy `searchsorted` (left) gives the first index i with times[i] >= utime; the previous message wins
 * only when it is strictly nearer, so a tie goes to the later message. There is no range check: a time
 * before the first message gives 0, after the last gives the last index.
 */
export function locateMessage(utimes: ArrayLike<number>, utime: number): number {
  const n = utimes.length;
  if (n === 0) throw new RangeError('locateMessage needs at least one message time');
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (utimes[mid] < utime) lo = mid + 1;
    else hi = mid;
  }
  let i = lo;
  if (i === n || (i > 0 && utime - utimes[i - 1] < utimes[i] - utime)) i -= 1;
  return i;
}
