package com.example.model;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/** A user object with a nested list and map (for Jackson and JDK). */
public class UserProfile implements Serializable {
    private static final long serialVersionUID = 1L;

    private String name;
    private List<String> tags;
    private Map<String, Object> prefs;

    public UserProfile() {
    }

    public UserProfile(String name, List<String> tags, Map<String, Object> prefs) {
        this.name = name;
        this.tags = tags;
        this.prefs = prefs;
    }

    public String getName() {
        return name;
    }

    public List<String> getTags() {
        return tags;
    }

    public Map<String, Object> getPrefs() {
        return prefs;
    }
}
