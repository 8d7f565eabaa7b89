// Vite bundles CSS imported from modules.
declare module '*.css';

// Vite's build flags.
interface ImportMeta {
  readonly env: { readonly PROD: boolean; readonly DEV: boolean };
}
