/// <reference types="vite-plugin-pwa/react" />

/** The build's label (HANMADI_BUILD_ID, else the package version), set by vite.config.ts. */
declare const __HANMADI_BUILD__: string;
