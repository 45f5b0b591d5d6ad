/**
 * Configuration changes from anywhere on the page (a field, a divergence fix): the store first,
 * then the engine, which validates again and rebuilds if a field needs it.
 */
import { needsRebuild, type TrainConfig } from '../engine/config';
import { engine } from './engine';
import { clearSimView } from './simView';
import { useApp } from './store';

export function setConfigFields(changes: Partial<TrainConfig>): void {
  const before = useApp.getState().config;
  const config = { ...before, ...changes };
  useApp.setState({ config });
  // A new network is coming: the old one's snapshots in flight are not drawn.
  if (needsRebuild(before, config)) clearSimView(true);
  engine().send({ type: 'configure', config });
}
