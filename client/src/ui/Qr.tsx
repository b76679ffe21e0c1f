/**
 * A QR code as an inline SVG (one path, crisp at any size; nothing fetched).
 *
 *   <Qr text={`${location.origin}/j/${code}`} label="QR code to join: scan with a phone camera" />
 *
 * Size it with CSS (it fills its container's width); `label` is its accessible name.
 */
import qrcode from "qrcode-generator";

export interface QrProps {
  text: string;
  label: string;
  class?: string;
}

/** The dark modules as one SVG path, in module units, with `margin` modules of quiet zone. */
export function qrPath(text: string, margin = 4): { size: number; d: string } {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  let d = "";
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      if (!qr.isDark(row, col)) continue;
      // Runs of dark modules on a row become one rectangle: a much shorter path.
      let end = col;
      while (end + 1 < n && qr.isDark(row, end + 1)) end++;
      d += `M${col + margin} ${row + margin}h${end - col + 1}v1h-${end - col + 1}z`;
      col = end;
    }
  }
  return { size: n + margin * 2, d };
}

export function Qr({ text, label, class: className }: QrProps) {
  const { size, d } = qrPath(text);
  return (
    <svg
      class={`qr${className ? ` ${className}` : ""}`}
      viewBox={`0 0 ${size} ${size}`}
      role="img"
      aria-label={label}
      shape-rendering="crispEdges"
      data-testid="qr"
    >
      <rect width={size} height={size} fill="#ffffff" />
      <path d={d} fill="#000000" />
    </svg>
  );
}
