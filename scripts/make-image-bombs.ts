/**
 * Writes the slow-to-make image bombs of test/attack/hostile-host.test.ts into test/fixtures/image-bombs/:
 * tiny files whose headers announce huge solid images, in formats libvips reads (sharp encodes each from a
 * solid colour, so the file is small and decoding it would allocate width * height * 4 bytes).
 * The quick ones (PNG, TIFF, SVG, patched JPEG and WebP headers) are built by the test itself.
 * Run: node --import tsx scripts/make-image-bombs.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';

const OUT = new URL('../test/fixtures/image-bombs/', import.meta.url);

const bombs: Array<[file: string, size: number, make: (img: Sharp) => Sharp]> = [
  // Lossless WebP's largest size; the encoder turns a solid picture into a few dozen bytes.
  ['lossless-16383.webp', 16383, (img) => img.webp({ lossless: true, effort: 0 })],
  ['solid-8192.gif', 8192, (img) => img.gif()],
  ['solid-8192.avif', 8192, (img) => img.heif({ compression: 'av1', quality: 1, effort: 0 })],
];

mkdirSync(OUT, { recursive: true });
for (const [file, size, make] of bombs) {
  const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: 10, g: 20, b: 30 } }, limitInputPixels: false });
  const bytes = await make(img).toBuffer();
  writeFileSync(new URL(file, OUT), bytes);
  console.log(`${file}: ${bytes.length} bytes announcing ${size}x${size}`);
}
