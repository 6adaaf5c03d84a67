package com.example.model;

/** An enum; GREEN has a constant body, so its runtime class is Color$1. */
public enum Color {
    RED,
    GREEN {
        @Override
        public String toString() {
            return "green";
        }
    },
    BLUE
}
