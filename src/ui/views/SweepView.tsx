/** CONTRACT placeholder, to be replaced by the real view. */
export function SweepView() {
  return <p className="view-empty">The α limit: run the sweep from its chapter's scene.</p>;
}
