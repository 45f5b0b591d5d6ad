import { Component, type ErrorInfo, type ReactNode } from 'react';
import { forgetSession } from '../../state/session';

interface State {
  error: Error | null;
}

/** Reload the page with the default chapter: no query, no hash, no saved session. */
export async function reloadWithDefaults(): Promise<void> {
  await forgetSession();
  location.replace(location.pathname);
}

/**
 * The page never goes blank: an error while rendering shows what happened and a way out
 * (reload with defaults), instead of React's empty root.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('LCP Lab failed to render', error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="crash" role="alert" data-testid="crash">
        <h1>LCP Lab stopped drawing</h1>
        <p>
          Something in the page failed: <code>{error.message}</code>
        </p>
        <p>Reloading with the default chapter starts afresh (your saved session is forgotten).</p>
        <button type="button" onClick={() => void reloadWithDefaults()}>
          Reload with defaults
        </button>{' '}
        <button type="button" onClick={() => location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
