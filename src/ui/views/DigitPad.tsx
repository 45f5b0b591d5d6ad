/**
 * A pad to draw a digit on with a mouse, a finger or a pen (pointer events). Each finished
 * stroke hands the drawing, made to look like an MNIST digit (padToDigit: cropped, scaled into
 * 20×20, centred by mass in 28×28, standardised), to `onDigit`; Clear empties it.
 */
import { useEffect, useRef } from 'react';
import { padToDigit } from '../../engine/tasks/padImage';

/** Canvas pixels per side (4 per MNIST pixel), and the pen's width in them (MNIST strokes are
 *  about two pixels wide). */
const PAD_PIXELS = 112;
const PEN_WIDTH = 12;

export type PadDigit = NonNullable<ReturnType<typeof padToDigit>>;

export function DigitPad({ onDigit }: { onDigit: (digit: PadDigit | null) => void }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const onDigitRef = useRef(onDigit);
  useEffect(() => {
    onDigitRef.current = onDigit;
  }, [onDigit]);

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d', { willReadFrequently: true });
    if (!canvas || !ctx) return;
    let last: { x: number; y: number } | null = null;
    const at = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      return {
        x: ((e.clientX - r.left) / Math.max(1, r.width)) * PAD_PIXELS,
        y: ((e.clientY - r.top) / Math.max(1, r.height)) * PAD_PIXELS,
      };
    };
    const dot = (p: { x: number; y: number }) => {
      ctx.beginPath();
      ctx.arc(p.x, p.y, PEN_WIDTH / 2, 0, 2 * Math.PI);
      ctx.fill();
    };
    const down = (e: PointerEvent) => {
      e.preventDefault();
      canvas.setPointerCapture?.(e.pointerId);
      last = at(e);
      ctx.fillStyle = '#000';
      dot(last);
    };
    const move = (e: PointerEvent) => {
      if (!last) return;
      const p = at(e);
      ctx.strokeStyle = '#000';
      ctx.lineWidth = PEN_WIDTH;
      ctx.lineCap = 'round';
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    };
    const up = () => {
      if (!last) return;
      last = null;
      // Ink is the canvas's opacity (strokes on a transparent canvas).
      const rgba = ctx.getImageData(0, 0, PAD_PIXELS, PAD_PIXELS).data;
      const pixels = new Float32Array(PAD_PIXELS * PAD_PIXELS);
      for (let i = 0; i < pixels.length; i++) pixels[i] = rgba[4 * i + 3] / 255;
      onDigitRef.current(padToDigit({ rows: PAD_PIXELS, cols: PAD_PIXELS, pixels }));
    };
    canvas.addEventListener('pointerdown', down);
    canvas.addEventListener('pointermove', move);
    canvas.addEventListener('pointerup', up);
    canvas.addEventListener('pointercancel', up);
    return () => {
      canvas.removeEventListener('pointerdown', down);
      canvas.removeEventListener('pointermove', move);
      canvas.removeEventListener('pointerup', up);
      canvas.removeEventListener('pointercancel', up);
    };
  }, []);

  const clear = () => {
    const canvas = canvasRef.current;
    canvas?.getContext('2d')?.clearRect(0, 0, PAD_PIXELS, PAD_PIXELS);
    onDigitRef.current(null);
  };

  return (
    <div className="digit-pad">
      <canvas
        ref={canvasRef}
        data-testid="digit-pad"
        width={PAD_PIXELS}
        height={PAD_PIXELS}
        role="img"
        aria-label="Drawing pad: draw a digit here with a mouse, a finger or a pen"
        style={{
          width: 112,
          height: 112,
          background: 'white',
          border: '1px solid #888',
          touchAction: 'none',
          cursor: 'crosshair',
        }}
      />
      <button type="button" data-testid="digit-pad-clear" onClick={clear}>
        Clear pad
      </button>
    </div>
  );
}
