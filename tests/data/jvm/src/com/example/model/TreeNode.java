package com.example.model;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** A child points back at its parent: a cycle. */
public class TreeNode implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final TreeNode parent;
    private final List<TreeNode> children = new ArrayList<>();

    public TreeNode(String name, TreeNode parent) {
        this.name = name;
        this.parent = parent;
        if (parent != null) {
            parent.children.add(this);
        }
    }
}
