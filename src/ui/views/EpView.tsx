/** CONTRACT placeholder, to be replaced by the real view. */
export function EpView() {
  return (
    <p className="view-empty">
      Equilibrium propagation against LCP: run the comparison from its chapter's scene.
    </p>
  );
}
